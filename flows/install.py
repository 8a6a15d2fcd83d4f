"""Wire the member journey into an App: engine, signals, order hook, ticking."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config.model import WarmlineConfig
from bot.errors import ConfigError
from bot.features import Feature
from bot.i18n import Catalog
from bot.middlewares import WATCHERS
from flows import commands
from flows.cli import register
from flows.config import FlowsConfig, flows_config
from flows.content import ContentLibrary
from flows.definition import PLAYBOOK
from flows.engine import FlowEngine
from flows.plugins import prepare_flows
from flows.signals import InteractionTee, SignalCounter
from flows.steps import StepRegistry

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("warmline.flows")


def build_engine(app: App) -> FlowEngine:
    """The engine with the app's one step registry: the one its builder provided
    (``App(config, provide=[steps])``), else a new one kept in the app's services."""
    services = app.services
    registry = services.find(StepRegistry) or services.provide(StepRegistry())
    flows = prepare_flows(app.config, services.catalog, registry)
    library = ContentLibrary.load(
        [PLAYBOOK / "content", *(Path(d) for d in flows_config(app.config).content.directories)]
    )
    return FlowEngine(services, app.database, flows, library, registry)


def install_flows(app: App) -> None:
    app.include(commands.router, order=24)
    config = flows_config(app.config)
    if not config.enabled:
        return
    engine = app.services.provide(build_engine(app))
    app.services.interactions = InteractionTee(app.services.interactions, engine, app.services)
    app.add_middleware(SignalCounter(engine), order=WATCHERS)
    secret = config.orders.webhook_secret
    if secret:
        from flows.webhook import orders_handler

        app.web.add_route("POST", config.orders.path, orders_handler(engine, app.services, secret))
    ticker = Ticker(engine, app)
    app.on_startup(ticker.start)
    app.on_shutdown(ticker.stop)


class Ticker:
    """Calls ``engine.tick`` every ``flows.tick``; claims make concurrent workers safe."""

    def __init__(self, engine: FlowEngine, app: App) -> None:
        self._engine = engine
        self._clock = app.services.clock
        self._every = flows_config(app.config).tick.total_seconds()
        self._task: asyncio.Task[None] | None = None

    async def start(self, app: App) -> None:
        app.services.provide(self)
        if self._every > 0:
            self._task = asyncio.create_task(self._loop(), name="flows-ticker")

    async def _loop(self) -> None:
        while True:
            try:
                await self._engine.tick(self._clock.now())
            except Exception:
                log.exception("flow tick failed; retrying next period")
            await asyncio.sleep(self._every)

    async def stop(self, app: App) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def file_problems(config: WarmlineConfig) -> list[str]:
    """The flows, their actions, guards, texts and content, as the engine checks them at start."""
    flows = flows_config(config)
    if not flows.enabled:
        return []
    problems: list[str] = []
    try:
        prepare_flows(config, Catalog(default=config.bot.default_language), StepRegistry())
    except ConfigError as exc:
        problems.append(f"flows.directories: {exc}")
    try:
        ContentLibrary.load([PLAYBOOK / "content", *(Path(d) for d in flows.content.directories)])
    except ConfigError as exc:
        problems.append(f"flows.content.directories: {exc}")
    return problems


FEATURE = Feature(
    "flows",
    install_flows,
    order=50,
    commands=register,
    check=file_problems,
    requires=("push",),
    config=FlowsConfig,
    migrations=Path(__file__).with_name("migrations"),
)
