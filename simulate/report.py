"""``--report``: one self-contained HTML page (plotly.js inlined, no network)."""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

STAGES = ("joined", "engaged", "trusted", "offered", "purchased", "repurchased", "referred")


def funnel_figure(result: dict[str, Any]) -> go.Figure:
    funnel = result["funnel"]
    figure = go.Figure(
        go.Funnel(y=list(STAGES), x=[funnel[s] for s in STAGES], textinfo="value+percent initial")
    )
    figure.update_layout(title="Member funnel")
    return figure


def weekly_figure(result: dict[str, Any]) -> go.Figure:
    counts = Counter(result["weekly_messages"])
    xs = list(range(max(counts, default=0) + 1))
    figure = go.Figure(go.Bar(x=xs, y=[counts.get(x, 0) for x in xs], name="member-weeks"))
    cap = result["caps"].get("per_week")
    if cap is not None:
        figure.add_vline(
            x=cap, line_dash="dash", line_color="red", annotation_text=f"cap {cap}/week"
        )
    figure.update_layout(
        title="Proactive messages per member per week (vs the weekly cap)",
        xaxis_title="messages in the week",
        yaxis_title="member-weeks",
    )
    return figure


def first_offer_figure(result: dict[str, Any]) -> go.Figure:
    figure = go.Figure(go.Histogram(x=result["days_to_first_offer"], nbinsx=30))
    figure.update_layout(
        title="Days from joining to the first offer",
        xaxis_title="days",
        yaxis_title="members",
    )
    return figure


def write_report(result: dict[str, Any], path: Path) -> None:
    figures = [funnel_figure(result), weekly_figure(result), first_offer_figure(result)]
    parts = [
        figure.to_html(full_html=False, include_plotlyjs=(index == 0))
        for index, figure in enumerate(figures)
    ]
    keys = [k for k, v in result.items() if not isinstance(v, list | dict)]
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(result[k]))}</td></tr>" for k in keys
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Warmline simulation</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}th,td{{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}}</style>
</head><body>
<h1>Warmline simulation: {result["members"]} members, {result["days"]} days, seed {result["seed"]}</h1>
<table>{rows}</table>
{"".join(parts)}
</body></html>
"""
    path.write_text(page, encoding="utf-8")
