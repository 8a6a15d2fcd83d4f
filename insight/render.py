"""Jinja2 templates and chart embedding shared by the report and the dashboard."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import plotly.graph_objects as go
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from bot.i18n.money import money

TEMPLATES = Path(__file__).with_name("templates")

#: no logo link, no "edit in Chart Studio": nothing on the page points elsewhere
PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["sendDataToCloud"],
}


@cache
def templates() -> Environment:
    """One environment per process (read-only after creation)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = money
    return env


def figure_html(figure: go.Figure) -> Markup:
    """A chart as a ``<div>`` plus its script; plotly.js must already be on the page."""
    html = figure.to_html(
        full_html=False, include_plotlyjs=False, include_mathjax=False, config=PLOTLY_CONFIG
    )
    return Markup(html)
