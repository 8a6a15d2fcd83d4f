"""Wires config → storage → adapter → dispatcher, and runs the lifecycle."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable

from bot.adapter import (
    Adapter,
    CallHooked,
    Closable,
    DurableSource,
    RetryReported,
    StateKeeper,
    TagMirror,
)
from bot.call_journal import CallJournal
from bot.clock import Clock, SystemClock
from bot.config.model import WarmlineConfig
from bot.context import Context
from bot.dispatcher import Dispatcher, Middleware, Placed
from bot.events import Event
from bot.features import features
from bot.frozen_heap import FrozenHeap
from bot.health import Health
from bot.i18n import Catalog
from bot.intake import DurableIntake
from bot.middlewares import default_middlewares
from bot.outbound import Outbound
from bot.platforms import build_adapter
from bot.router import CommandIndex, Router
from bot.schema import ensure_schema, with_feature_tables
from bot.services import Services
from bot.signals import Signals
from bot.tag_mirror import TagMirroring
from bot.update_runner import UpdateRunner
from bot.web import HttpLimits, WebServer, listen_address
from storage.database import Database
from storage.dedupe import FallbackLedger, RedisLedger, SqlLedger, UpdateLedger
from storage.inbox import SqlInbox
from storage.members import SqlChatRepository, SqlInteractionLog, SqlMemberRepository
from storage.redis import connect_redis
from storage.windows import WindowLedger

log = logging.getLogger("warmline.app")

Hook = Callable[["App"], Awaitable[None]]


class App:
    """One running bot. Features hook in with :meth:`on_startup`/:meth:`on_shutdown`.

    ``provide`` puts objects into the services before the features install, where they
    find them by type: e.g. ``App(config, provide=[steps])`` hands the flow engine a
    :class:`flows.steps.StepRegistry` holding your own actions and guards.
    """

    def __init__(
        self,
        config: WarmlineConfig,
        *,
        adapter: Adapter | None = None,
        clock: Clock | None = None,
        routers: Iterable[Router] | None = None,
        middlewares: Iterable[Middleware | Placed] | None = None,
        install_features: bool = True,
        database: Database | None = None,
        provide: Iterable[object] = (),
    ) -> None:
        self.config = config
        self.database = with_feature_tables(
            database
            or Database(
                config.storage.database_url,
                echo=config.storage.echo_sql,
                pool_size=config.storage.pool_size,
                max_overflow=config.storage.max_overflow,
                pool_timeout=config.storage.pool_timeout.total_seconds(),
            )
        )
        self.redis = connect_redis(config.storage.redis_url) if config.storage.redis_url else None
        self.web = WebServer(listen_address(config.http.listen), http_limits(config))
        self.health = Health(self.database, self.redis)
        self.adapter = adapter or build_adapter(config, self.web)
        sql_ledger = SqlLedger(self.database, config.storage.dedupe_ttl)
        ledger: UpdateLedger = (
            FallbackLedger(RedisLedger(self.redis, config.storage.dedupe_ttl), sql_ledger)
            if self.redis is not None
            else sql_ledger
        )
        self.signals = Signals()
        self.services = Services(
            config=config,
            adapter=Outbound(self.adapter, self.signals),
            clock=clock or SystemClock(),
            members=SqlMemberRepository(self.database),
            chats=SqlChatRepository(self.database),
            interactions=SqlInteractionLog(self.database),
            ledger=ledger,
            catalog=Catalog(default=config.bot.default_language),
            signals=self.signals,
        )
        for note in config.warnings:
            log.warning("config: %s", note)
        for extension in provide:
            self.services.provide(extension)
        #: no routers given: each feature includes its own (:meth:`include`)
        self.default_routers = routers is None
        self.dispatcher = Dispatcher(
            self.services,
            routers or (),
            middlewares if middlewares is not None else default_middlewares(),
        )
        self.runner = UpdateRunner(self._handle, config.bot.max_concurrent_updates)
        self.intake: DurableIntake | None = None
        self.journal: CallJournal | None = None
        if isinstance(self.adapter, DurableSource):
            inbox = SqlInbox(self.database)
            self.journal = CallJournal(inbox, self.database)
            self.services.adapter.journal = self.journal
            self.intake = DurableIntake(
                inbox,
                self.runner,
                lease=config.storage.inbox_lease,
                capacity=config.bot.max_queued_updates,
                dedupe_ttl=config.storage.dedupe_ttl,
            )
            self.services.provide(self.intake)
        if self.adapter.limits.window is not None:  # the platform's message windows
            windows = self.services.provide(WindowLedger(self.database))
            self.services.adapter.windows = windows
            self.services.adapter.clock = self.services.clock
        self.tag_mirroring: TagMirroring | None = None
        self._startup: list[Hook] = []
        self._shutdown: list[Hook] = []
        self._started = False
        #: start-up's objects, out of the collector's full passes while running
        self._heap = FrozenHeap()
        for feature in features(config.features) if install_features else ():
            if feature.install is not None:
                feature.install(self)

    def include(self, *routers: Router, order: int) -> None:
        """A feature's routers at ``order`` among everyone's (smaller first; the shared
        fallback comes last, at 100). Skipped when the App was given routers of its own
        (tests, embedders)."""
        if self.default_routers:
            for router in routers:
                self.dispatcher.include(router, order=order)

    def add_middleware(self, middleware: Middleware, *, order: int) -> None:
        """A feature's middleware at ``order`` in the chain (smaller is outer; the core's
        orders are named in :mod:`bot.middlewares`, e.g. ``MEMBER_LOADER``); one order's
        middlewares wrap in the order their features installed."""
        self.dispatcher.use(middleware, order=order)

    def on_startup(self, hook: Hook) -> None:
        self._startup.append(hook)

    def on_shutdown(self, hook: Hook) -> None:
        self._shutdown.append(hook)

    async def start(self) -> None:
        await ensure_schema(self.database)
        self.dispatcher.freeze()
        self.services.provide(CommandIndex.of(self.dispatcher.specs))
        # From here on stop() undoes whatever did start, even if a later step fails.
        self._started = True
        try:
            for hook in self._startup:
                await hook(self)
            if self.intake is not None and isinstance(self.adapter, DurableSource):
                self.intake.bind(self.adapter.events_of, self.adapter.key_of)
                self.adapter.use_intake(self.intake)
            if isinstance(self.adapter, StateKeeper):
                self.adapter.use_database(self.database)
            if isinstance(self.adapter, TagMirror):
                self.tag_mirroring = TagMirroring(self.services, self.adapter)
                self.tag_mirroring.start()
            if isinstance(self.adapter, CallHooked):
                self.adapter.before_call = self.database.end_update_unit
            if isinstance(self.adapter, RetryReported):
                self.adapter.on_retry = self.signals.platform_retry.emit
            await self.adapter.start(self.runner.submit)
            self.health.started = True
            if self.intake is not None:
                self.intake.start()  # after the adapter: taken-over updates send replies
            if self.web.has_routes:
                self.health.mount(self.web)
                await self.web.start()
        except BaseException:
            await self.stop()
            raise
        self._heap.freeze()
        log.info("Warmline started on %s", self.adapter.platform)

    async def _handle(self, event: Event) -> Context:
        """One update, one transaction: what its handlers write is committed once,
        before its first platform call (or at the end). A commit that fails (the
        database went away) marks the update for another try, like any outage."""
        place = self.intake.calls_of(event) if self.intake is not None else None
        try:
            async with self.database.update_unit():
                if place is None or self.journal is None:
                    return await self.dispatcher.feed(event)
                with self.journal.running(*place):
                    return await self.dispatcher.feed(event)
        except Exception as exc:
            log.warning(
                "update %s not committed (%s: %s)", event.update_key, type(exc).__name__, exc
            )
            ctx = Context(event=event, services=self.services)
            ctx.data["outage"] = True
            return ctx

    async def stop(self) -> None:
        """Stop receiving, finish in-flight updates, then release resources."""
        self._heap.thaw()
        if self._started:
            self.health.started = False
            await self.adapter.stop()
            await self.runner.drain()
            if self.intake is not None:
                await self.intake.stop()
            await self.web.stop()
            for hook in reversed(self._shutdown):
                try:
                    await hook(self)
                except Exception:
                    log.exception("shutdown hook failed")
            if self.tag_mirroring is not None:
                await self.tag_mirroring.stop()
            if isinstance(self.adapter, Closable):
                await self.adapter.close()
            self._started = False
        if self.redis is not None:
            await self.redis.aclose()
        await self.database.close()

    async def run_forever(self) -> None:
        """Run until Ctrl-C or SIGTERM, then shut down cleanly."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        try:
            await stop.wait()
        finally:
            log.info("shutting down: finishing in-flight updates")
            await self.stop()


def http_limits(config: WarmlineConfig) -> HttpLimits:
    http = config.http
    return HttpLimits(
        header_timeout=http.header_timeout.total_seconds(),
        body_timeout=http.body_timeout.total_seconds(),
        idle_timeout=http.idle_timeout.total_seconds(),
        max_connections=http.max_connections,
    )
