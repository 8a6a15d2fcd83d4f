"""Plotly figures shared by the HTML report and the dashboard.

Each chart's hover text carries the figure's definition from
:mod:`insight.definitions`, so what a bar means is one hover away.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from insight.definitions import FIGURES, FUNNEL_STEPS
from insight.queries.cohorts import Cohort
from insight.queries.funnel import FunnelRow, total
from insight.queries.money import LTV_HORIZONS, SourceValue
from insight.queries.respect import GateCount, WeekLoad
from insight.window import Window

PALETTE = ("#2a7f62", "#d08c30", "#3b6fb6", "#b5485d", "#7a5cb0", "#5a8f29", "#8c6d46", "#3a9fb0")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans SC', sans-serif"


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 16}},
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        font={"family": FONT, "size": 12},
        paper_bgcolor="white",
        plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.15},
        colorway=list(PALETTE),
    )
    fig.update_xaxes(gridcolor="#eee")
    fig.update_yaxes(gridcolor="#eee")
    return fig


def _hint(key: str) -> str:
    return FIGURES[key].definition


def funnel_by_source(rows: Sequence[FunnelRow]) -> go.Figure:
    """One funnel per source, side by side, with step conversion on hover."""
    by_source: dict[str, list[FunnelRow]] = {}
    for row in rows:
        by_source.setdefault(row.source, []).append(row)
    fig = go.Figure()
    labels = [FIGURES[step].label for step in FUNNEL_STEPS]
    for source, source_rows in sorted(
        by_source.items(), key=lambda kv: -total(kv[1]).steps["joined"]
    ):
        summed = total(source_rows, source)
        conversions = [summed.conversion(step) for step in FUNNEL_STEPS]
        fig.add_trace(
            go.Funnel(
                name=source,
                y=labels,
                x=[summed.steps[step] for step in FUNNEL_STEPS],
                textinfo="value+percent initial",
                customdata=[
                    [f"{c * 100:.1f}%" if c is not None else "–", _hint(step)]
                    for c, step in zip(conversions, FUNNEL_STEPS, strict=True)
                ],
                hovertemplate="<b>%{y}</b> · "
                + source
                + "<br>%{x:,} members<br>from previous step: %{customdata[0]}"
                "<br><i>%{customdata[1]}</i><extra></extra>",
            )
        )
    return _layout(fig, "The loop per source: joined → … → referred", height=460)


def ltv_vs_cac(values: Sequence[SourceValue], currency: str = "") -> go.Figure:
    sources = [v.source for v in values]
    fig = go.Figure()
    fig.add_bar(
        name="CAC",
        x=sources,
        y=[v.cac for v in values],
        marker_color="#b5485d",
        hovertemplate=f"%{{x}}: CAC {currency} %{{y:,.2f}}<br><i>"
        + _hint("cac")
        + "</i><extra></extra>",
    )
    for days, color in zip(LTV_HORIZONS, ("#a9d3c3", "#5fb196", "#2a7f62"), strict=True):
        fig.add_bar(
            name=f"LTV {days} d",
            x=sources,
            y=[v.ltv_within(days) for v in values],
            marker_color=color,
            hovertemplate=f"%{{x}}: LTV {days} d {currency} %{{y:,.2f}}<br><i>"
            + _hint(f"ltv_{days}")
            + "</i><extra></extra>",
        )
    fig.add_bar(
        name="LTV to date",
        x=sources,
        y=[v.ltv for v in values],
        marker_color="#1d4f3e",
        customdata=[[f"{v.ltv_cac:.2f}×" if v.ltv_cac is not None else "–"] for v in values],
        hovertemplate=f"%{{x}}: LTV {currency} %{{y:,.2f}} · LTV÷CAC %{{customdata[0]}}<br><i>"
        + _hint("ltv")
        + "</i><extra></extra>",
    )
    fig.update_layout(barmode="group", yaxis_title=f"{currency} per member".strip())
    return _layout(fig, "What a member costs (CAC) and what they are worth (LTV), per source")


def cohort_heatmap(cohorts: Sequence[Cohort], window: Window, max_weeks: int = 13) -> go.Figure:
    weeks = min(max_weeks, max((max(c.active, default=0) for c in cohorts), default=0) + 1)
    y = [f"{window.week_start(c.week):%Y-%m-%d} ({c.size:,})" for c in cohorts]
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    for cohort in cohorts:
        age = int((window.end - window.week_start(cohort.week)).days // 7)
        row = [cohort.retention(n) if n <= age else None for n in range(weeks)]
        z.append([None if v is None else round(v * 100, 1) for v in row])
        text.append(["" if v is None else f"{v * 100:.0f}%" for v in row])
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"week {n}" for n in range(weeks)],
            y=y,
            text=text,
            texttemplate="%{text}",
            colorscale="Greens",
            zmin=0,
            zmax=100,
            colorbar={"title": "% active"},
            hovertemplate="cohort %{y}<br>%{x}: %{z}% active<br><i>"
            + _hint("retention")
            + "</i><extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title="join week (members)")
    return _layout(fig, "Retention: members active in their N-th week, by join week", height=460)


def load_vs_cap(load: Sequence[WeekLoad], window: Window, cap: int | None) -> go.Figure:
    x = [f"{w.start:%Y-%m-%d}" for w in load]
    fig = go.Figure()
    fig.add_bar(
        name="proactive per member",
        x=x,
        y=[w.per_member for w in load],
        marker_color="#3b6fb6",
        hovertemplate="week of %{x}: %{y:.2f} per member<br><i>"
        + _hint("proactive_per_member_week")
        + "</i><extra></extra>",
    )
    fig.add_scatter(
        name="most to one member",
        x=x,
        y=[w.max_per_member for w in load],
        mode="lines+markers",
        line={"color": "#d08c30"},
        hovertemplate="week of %{x}: at most %{y} to one member<extra></extra>",
    )
    if cap is not None:
        fig.add_hline(
            y=cap,
            line={"color": "#b5485d", "dash": "dash"},
            annotation_text=f"cap: {cap} per week",
            annotation_position="top left",
        )
    fig.update_xaxes(type="category", title="week starting")
    fig.update_layout(yaxis_title="messages per member per week")
    return _layout(fig, "Messages per member per week vs the cap")


def offers_share(load: Sequence[WeekLoad], window: Window) -> go.Figure:
    x = [f"{w.start:%Y-%m-%d}" for w in load]
    fig = go.Figure()
    fig.add_scatter(
        name="offers ÷ proactive",
        x=x,
        y=[None if w.offers_share is None else w.offers_share * 100 for w in load],
        mode="lines+markers",
        line={"color": "#2a7f62", "width": 3},
        hovertemplate="week of %{x}: %{y:.1f}% offers<br><i>"
        + _hint("offers_share")
        + "</i><extra></extra>",
    )
    fig.add_hline(
        y=20,
        line={"color": "#b5485d", "dash": "dash"},
        annotation_text="80/20 rule: 20%",
        annotation_position="top left",
    )
    fig.update_xaxes(type="category", title="week starting")
    fig.update_yaxes(range=[0, 100], ticksuffix="%")
    return _layout(fig, "Offers share of proactive messages over time")


def gate_reasons(counts: Sequence[GateCount]) -> go.Figure:
    outcomes = ("sent", "deferred", "dropped")
    colors = {"sent": "#2a7f62", "deferred": "#d08c30", "dropped": "#b5485d"}
    reasons = sorted({c.reason or "—" for c in counts if c.outcome != "sent"})
    fig = go.Figure()
    for outcome in outcomes:
        if outcome == "sent":
            continue
        by_reason = {r: 0 for r in reasons}
        for c in counts:
            if c.outcome == outcome:
                by_reason[c.reason or "—"] += c.count
        fig.add_bar(
            name=outcome,
            x=reasons,
            y=[by_reason[r] for r in reasons],
            marker_color=colors[outcome],
            hovertemplate="%{x}: %{y:,} "
            + outcome
            + "<br><i>"
            + _hint("gate_outcomes")
            + "</i><extra></extra>",
        )
    fig.update_layout(barmode="stack", yaxis_title="decisions")
    return _layout(fig, "What the gate held back, by reason")
