"""The merchant dashboard (needs the ``[insight]`` extra: plotly)."""

#: where the dashboard is mounted on the HTTP server
PREFIX = "/dashboard"
