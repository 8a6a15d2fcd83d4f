"""Wire the push gate, the scheduler and campaigns into an App."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.adapter import batches_pushes
from bot.errors import ConfigError
from bot.features import Feature
from bot.scheduling.interface import Scheduler
from bot.scheduling.lease import LocalLease, RedisLease
from push.backends import GateBackend, MemoryBackend, RedisBackend, SqlBackend
from push.backends.restore import RedisRestore
from push.batch import WindowBatch
from push.campaigns import Campaigns
from push.cli import register
from push.config import PushConfig, push_config
from push.contract import PushGate
from push.gate import Gate
from push.handlers import broadcast
from push.handlers import segments as segment_commands
from push.history import PushHistory
from push.jobs import resume_hook
from push.pacing import Pace, PacedSender, Pacer, SharedPacer
from push.recorder import DecisionRecorder
from push.rules import Rules
from push.segments import Segments
from push.store import CampaignStore, DecisionLog, PendingStore
from storage.confirm_codes import ConfirmCodes
from storage.segments import SegmentStore

if TYPE_CHECKING:
    from bot.app import App
    from bot.scheduling.runner import JobScheduler


def build_backend(app: App) -> GateBackend:
    push = push_config(app.config)
    key_ttl = push.key_ttl.total_seconds()
    kind = push.backend
    if kind == "auto":
        kind = "redis" if app.redis is not None else "sql"
    if kind == "redis":
        if app.redis is None:
            raise ConfigError("push.backend: redis needs storage.redis_url")
        restore = RedisRestore(
            app.redis, PushHistory(app.database), "wl:push:", key_ttl, push.paused
        )
        return RedisBackend(app.redis, key_ttl, paused=push.paused, restore=restore)
    if kind == "memory":
        return MemoryBackend(key_ttl, paused=push.paused)
    return SqlBackend(app.database, key_ttl, paused=push.paused)


def install(app: App) -> None:
    services = app.services
    app.include(broadcast.router, segment_commands.router, order=30)
    push = push_config(app.config)
    backend = build_backend(app)
    store = CampaignStore(app.database)
    recorder = DecisionRecorder(DecisionLog(app.database))
    if isinstance(backend, RedisBackend) and backend.restore is not None:
        backend.restore.flush_local = recorder.flush  # its sends must be in the record
    # the platform's limits are per bot: with Redis every worker books in one place
    limits = push.pacing.over(services.adapter.limits.pacing)  # unset: the platform's own
    pacer: Pace = SharedPacer(app.redis, limits) if app.redis else Pacer(limits)
    sender = PacedSender(services.adapter, pacer, push.pacing.max_retries)
    gate = Gate(services, backend, Rules(push), PendingStore(app.database), recorder, sender, store)
    gate.retry_after = push.unavailable_retry
    services.provide(gate, PushGate)
    services.provide(ConfirmCodes(app.database))
    services.provide(gate, Gate)
    segments = services.provide(
        Segments(SegmentStore(app.database, app.config.bot.default_language))
    )
    campaigns = services.provide(
        Campaigns(
            services,
            app.database,
            gate,
            store,
            segments,
            workers=push.campaigns.concurrency,
            progress_every=push.progress_every.total_seconds() or 2.0,
            lease_ttl=push.campaigns.lease_ttl,
        )
    )
    gate.leases = campaigns.leases
    from bot.scheduling.runner import JobScheduler  # apscheduler: not for `warmline -h`

    batch = _window_batch(app, gate)
    scheduler: JobScheduler | None = None
    if push.scheduler.enabled:
        lease = (
            RedisLease(app.redis, push.scheduler.lease_ttl.total_seconds())
            if app.redis is not None
            else LocalLease()
        )
        scheduler = JobScheduler(
            services,
            app.config.storage.database_url,
            lease,
            push.scheduler.misfire_grace.total_seconds(),
        )
        services.provide(scheduler, Scheduler)
        services.provide(scheduler, JobScheduler)

    async def start(app: App) -> None:
        recorder.start()
        if isinstance(backend, RedisBackend):
            await backend.init()
        if scheduler is not None:
            await scheduler.start(run_jobs=True)
            await gate.reschedule_waiting()
            if batch is not None:
                await batch.resume()
        # every worker takes over running campaigns whose sender's lease ran out (never
        # one a live worker still sends); the simulator, the database's only user, has none
        if not app.database.only_user:
            campaigns.watch(resume_hook(services))

    async def stop(app: App) -> None:
        await campaigns.stop()
        if scheduler is not None:
            await scheduler.stop()
        await recorder.stop()

    app.on_startup(start)
    app.on_shutdown(stop)


def _window_batch(app: App, gate: Gate) -> WindowBatch | None:
    """Pushes the platform's window refuses join a daily mass send, when the adapter
    says it batches them (``bot.adapter.batches_pushes``)."""
    batching = batches_pushes(app.services.adapter.inner)
    if batching is None:
        return None
    sender, at = batching
    campaigns = push_config(app.config).campaigns
    batch = WindowBatch(
        app.services, app.database, gate, sender, at, campaigns.mass_poll, campaigns.mass_wait
    )
    gate.batch = batch
    app.services.provide(batch)
    return batch


FEATURE = Feature(
    "push",
    install,
    order=30,
    commands=register,
    config=PushConfig,
    migrations=Path(__file__).with_name("migrations"),
)
