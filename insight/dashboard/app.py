"""The dashboard as an aiohttp sub-application mounted at ``/dashboard``.

``warmline run`` mounts it on the bot's HTTP server (or a server of its own
when ``insight.dashboard.listen`` differs from the webhook address);
``warmline dashboard`` serves it alone. plotly.js is served from the
installed plotly package: the dashboard never loads anything from a CDN.
"""

from __future__ import annotations

from pathlib import Path

import plotly
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from bot.config.model import WarmlineConfig
from insight.config import insight_config
from insight.dashboard import PREFIX, auth, views
from insight.dashboard.sessions import SessionStore
from insight.dashboard.throttle import LoginThrottle
from insight.metrics import Backlog, Metrics

PLOTLY_JS = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"

#: scripts and styles are the page's own; nothing is fetched from elsewhere. No
#: 'unsafe-eval': plotly.js 4 builds no code from strings in a browser that has
#: ``globalThis`` and ``Function.prototype.bind`` (the browser test fails on any CSP
#: violation in the console)
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


async def _plotly(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(PLOTLY_JS, headers={"Cache-Control": "public, max-age=86400"})


@web.middleware
async def _csp(request: web.Request, handler: auth.Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    return response


def build_dashboard(
    engine: AsyncEngine, config: WarmlineConfig, clock: Clock, prefix: str = PREFIX
) -> web.Application:
    dashboard = insight_config(config).dashboard
    app = web.Application(middlewares=[_csp, auth.require_login])
    app[auth.PREFIX_KEY] = prefix
    app[auth.CONFIG_KEY] = dashboard
    app[auth.STORE_KEY] = SessionStore(
        engine, clock, dashboard.session_ttl, dashboard.login_link_ttl
    )
    limit = dashboard.login_limit
    app[auth.THROTTLE_KEY] = LoginThrottle(
        limit.per_user, limit.per_address, limit.window.total_seconds()
    )
    app[views.ENGINE_KEY] = engine
    app[views.WCONFIG_KEY] = config
    app[views.CLOCK_KEY] = clock
    r = app.router
    r.add_get("/login", auth.login_form, name="login")
    r.add_post("/login", auth.login_submit)
    r.add_get("/login/link/{token}", auth.login_link, name="login_link")
    r.add_post("/logout", auth.logout, name="logout")
    r.add_get("/static/plotly.min.js", _plotly, name="plotly")
    r.add_get("/", views.overview, name="overview")
    r.add_post("/sources/cost", views.set_source_cost, name="set_cost")
    for path, handler, name in (
        ("/sources", views.sources, "sources"),
        ("/cohorts", views.cohorts, "cohorts"),
        ("/members", views.members, "members"),
        ("/members/{member_id}", views.member, "member"),
        ("/push", views.push, "push"),
        ("/handoffs", views.handoff_list, "handoffs"),
    ):
        r.add_get(path, handler, name=name)
        r.add_get("/{api:api}" + path, handler, name=f"api_{name}")
    r.add_get("/{api:api}/overview", views.overview, name="api_overview")
    return app


def mount(
    root: web.Application, engine: AsyncEngine, config: WarmlineConfig, clock: Clock
) -> web.Application:
    """Put the dashboard under ``/dashboard``; returns the dashboard's own app."""
    dashboard = build_dashboard(engine, config, clock)
    root.add_subapp(PREFIX, dashboard)

    async def home(_request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": PREFIX + "/"})

    root.router.add_get(PREFIX, home)
    return dashboard


def metrics_view(metrics: Metrics, engine: AsyncEngine, clock: Clock) -> auth.Handler:
    """``/metrics``: counters plus the backlog read from the database."""
    from insight.queries.backlog import backlog

    async def refresh() -> Backlog:
        async with engine.connect() as conn:
            return await backlog(conn, clock.now())

    async def view(_request: web.Request) -> web.Response:
        body = await metrics.render(refresh)
        return web.Response(body=body, headers={"Content-Type": metrics.content_type})

    return view
