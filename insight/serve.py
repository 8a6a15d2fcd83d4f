"""Wiring the dashboard and metrics into a bot, or serving the dashboard alone."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.clock import SystemClock
from bot.config.model import WarmlineConfig
from bot.extras import INSIGHT, require
from bot.features import Feature
from bot.schema import ensure_schema, with_feature_tables
from insight.cli import register
from insight.config import InsightConfig, insight_config
from storage.database import Database
from storage.privacy import MemberData

if TYPE_CHECKING:
    from aiohttp import web

    from bot.app import App
    from bot.web import WebServer

log = logging.getLogger("warmline.insight")


@dataclass(frozen=True, slots=True)
class InsightSite:
    """The HTTP server the dashboard and ``/metrics`` are on (its port is known once started)."""

    server: WebServer

    @property
    def base_url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"


def install_insight(app: App) -> None:
    """Metrics are counted in every bot; ``/metrics`` is served when
    ``insight.metrics.enabled`` and the dashboard when ``insight.dashboard.enabled``,
    both at ``insight.dashboard.listen`` (the webhook server when it is the same address)."""
    # the HTTP server and the metrics library load with the bot, not for `warmline -h`
    from bot.middlewares import WATCHERS
    from bot.web import WebServer
    from handlers.admin import StatsPage
    from insight import commands
    from insight.commands import DashboardLinks
    from insight.hooks import attach
    from insight.metrics import Metrics
    from insight.tracker import ActivityTracker

    app.include(commands.router, order=50)
    metrics = Metrics()
    app.services.provide(metrics)
    app.add_middleware(metrics.middleware, order=WATCHERS)
    tracker = app.services.provide(ActivityTracker(app.database))
    app.add_middleware(tracker.middleware, order=WATCHERS)
    hooked = attach(app, metrics)

    async def track(_app: App) -> None:
        data = app.services.find(MemberData)
        hook = tracker.privacy_hook()
        # /mydata and /forgetme cover what is noted but not yet written
        if data is not None and all(other.name != hook.name for other in data.hooks):
            data.add_hook(hook)
        tracker.start()

    async def untrack(_app: App) -> None:
        await tracker.stop()

    app.on_startup(track)
    app.on_shutdown(untrack)
    insight = insight_config(app.config)
    if not (insight.dashboard.enabled or insight.metrics.enabled):
        return
    require(INSIGHT, "the insight dashboard and /metrics")
    from insight.dashboard.app import metrics_view, mount
    from insight.dashboard.auth import STORE_KEY

    same_server = insight.dashboard.listen == app.config.http.listen
    server = app.web if same_server else WebServer(insight.dashboard.listen)
    app.services.provide(InsightSite(server))
    engine, clock = app.database.engine, app.services.clock
    if insight.dashboard.enabled:
        site = mount(server.app, engine, app.config, clock)
        links = app.services.provide(DashboardLinks.of(app.config, site[STORE_KEY]))
        app.services.provide(StatsPage(links.page()))
    if insight.metrics.enabled:
        server.add_route("GET", "/metrics", metrics_view(metrics, engine, clock))

    unsubscribe: list[Callable[[], None]] = []

    async def start(_app: App) -> None:
        unsubscribe.append(app.services.signals.platform_retry.connect(metrics.observe_retry))
        if server is not app.web:
            await server.start()
        log.info(
            "insight at http://%s:%s: %s (metrics count %s)",
            server.host,
            server.port,
            ", ".join(
                part
                for part, on in (
                    ("/dashboard/", insight.dashboard.enabled),
                    ("/metrics", insight.metrics.enabled),
                )
                if on
            ),
            ", ".join(["updates", *hooked]),
        )

    async def stop(_app: App) -> None:
        while unsubscribe:
            unsubscribe.pop()()
        if server is not app.web:
            await server.stop()

    app.on_startup(start)
    app.on_shutdown(stop)


async def serve_dashboard(config: WarmlineConfig) -> None:
    """``warmline dashboard``: the dashboard alone, until Ctrl-C or SIGTERM."""
    require(INSIGHT, "the insight dashboard")
    from aiohttp import web

    from bot.health import Health
    from bot.web import WebServer
    from insight.dashboard.app import mount

    db = with_feature_tables(Database(config.storage.database_url))
    server = WebServer(insight_config(config).dashboard.listen)
    try:
        await ensure_schema(db)
        mount(server.app, db.engine, config, SystemClock())

        async def root(_request: web.Request) -> web.Response:
            return web.Response(status=302, headers={"Location": "/dashboard/"})

        server.add_route("GET", "/", root)
        health = Health(db)
        health.started = True  # nothing to start: ready when the database answers
        health.mount(server)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await server.start()
        log.info("dashboard at http://%s:%s/dashboard/", server.host, server.port)
        await stop.wait()
    finally:
        await server.stop()
        await db.close()


FEATURE = Feature(
    "insight",
    install_insight,
    order=90,
    commands=register,
    config=InsightConfig,
    migrations=Path(__file__).with_name("migrations"),
)
