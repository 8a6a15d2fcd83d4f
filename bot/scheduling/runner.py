"""APScheduler 3.11 behind :class:`~bot.scheduling.interface.Scheduler`.

Jobs live in the database (``scheduler_jobs``, APScheduler's SQLAlchemy job
store), so they survive restarts and every worker can add them. Every worker
starts the scheduler *paused*; only the holder of the lease (see
:mod:`bot.scheduling.lease`) resumes it and runs jobs, and it wakes up every
renewal so it also sees jobs other workers added.

A stored job names its target as text and carries JSON-like kwargs; our own
executor calls the target with this bot's :class:`~bot.services.Services`,
after claiming ``job:<key>@<fire time>`` in the update ledger so that a job
re-run after a crash never runs twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import logging
import sys
from datetime import UTC, datetime
from functools import partial
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Protocol

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.executors.base import run_coroutine_job
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("warmline.scheduler")

JOB_TABLE = "scheduler_jobs"


class Lease(Protocol):
    held: bool

    @property
    def renew_every(self) -> float: ...

    async def try_hold(self) -> bool: ...

    async def release(self) -> None: ...


def stored_job(**_: Any) -> None:
    """What the job store references; only Warmline's executor runs these jobs."""
    raise RuntimeError("Warmline jobs run through JobScheduler's executor")


def sync_url(database_url: str) -> str:
    """The job store is synchronous: PostgreSQL through psycopg 3 (same database);
    SQLite in a sibling file (``bot.db`` → ``bot.jobs.db``), because a blocking
    write to the bot's own file could wait on an async transaction that needs the
    very event loop it blocks."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend != "sqlite":
        raise ValueError(f"storage.database_url: no scheduler job store for {backend!r}")
    database = url.database
    if database and database != ":memory:":
        stem, dot, suffix = database.rpartition(".")
        database = f"{stem}.jobs.{suffix}" if dot else f"{database}.jobs"
    return url.set(drivername="sqlite", database=database).render_as_string()


#: job targets stored by earlier versions, whose modules have moved since: jobs in a kept
#: database still run (old module → new)
MOVED_TARGETS = {"push.jobs": "push.jobs"}


def resolve_target(target: str) -> Any:
    module_name, _, name = target.partition(":")
    if not module_name or not name:
        raise ValueError(f"job target must look like 'package.module:function' (got {target!r})")
    module_name = MOVED_TARGETS.get(module_name, module_name)
    return getattr(importlib.import_module(module_name), name)


class _WarmlineExecutor(AsyncIOExecutor):  # type: ignore[misc]
    def __init__(self, owner: JobScheduler) -> None:
        super().__init__()
        self._owner = owner

    def running(self) -> list[asyncio.Future[Any]]:
        return list(self._pending_futures)

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        stored = job.kwargs
        call = SimpleNamespace(
            id=job.id,
            func=partial(
                self._owner.fire, job.id, run_times[-1], stored["target"], stored["kwargs"]
            ),
            args=(),
            kwargs={},
            misfire_grace_time=job.misfire_grace_time,
        )

        def done(future: asyncio.Future[Any]) -> None:
            self._pending_futures.discard(future)
            try:
                events = future.result()
            except BaseException:
                self._run_job_error(job.id, *sys.exc_info()[1:])
            else:
                self._run_job_success(job.id, events)

        task = self._eventloop.create_task(
            run_coroutine_job(call, job._jobstore_alias, run_times[-1:], self._logger.name)
        )
        task.add_done_callback(done)
        self._pending_futures.add(task)


class JobScheduler:
    def __init__(
        self,
        services: Services,
        database_url: str,
        lease: Lease,
        misfire_grace: float = 6 * 3600,
    ) -> None:
        self._services = services
        self._lease = lease
        self._engine = _sync_engine(database_url)
        self._executor = _WarmlineExecutor(self)
        self._aps = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self._engine, tablename=JOB_TABLE)},
            executors={"default": self._executor},
            job_defaults={
                "misfire_grace_time": int(misfire_grace),
                "coalesce": True,
                "max_instances": 1,
            },
            timezone=UTC,
        )
        self._loop_task: asyncio.Task[None] | None = None
        self.runs = 0

    @property
    def leading(self) -> bool:
        return self._lease.held and self._loop_task is not None

    async def start(self, run_jobs: bool = True) -> None:
        """Open the job store; with ``run_jobs`` also compete for the lease and run jobs."""
        self._aps.start(paused=True)
        if run_jobs:
            self._loop_task = asyncio.create_task(self._lead(), name="scheduler-lease")

    async def _lead(self) -> None:
        running = False
        while True:
            held = await self._lease.try_hold()
            if held and not running:
                log.info("scheduler lease taken: this worker runs the jobs")
                self._aps.resume()
                running = True
            elif not held and running:
                log.warning("scheduler lease lost: another worker runs the jobs now")
                self._aps.pause()
                running = False
            if running:
                self._aps.wakeup()
            await asyncio.sleep(self._lease.renew_every)

    async def schedule(
        self, key: str, run_at: datetime, target: str, kwargs: dict[str, Any] | None = None
    ) -> bool:
        resolve_target(target)  # fail now, not when it fires
        try:
            self._aps.add_job(
                "bot.scheduling.runner:stored_job",
                trigger="date",
                run_date=run_at,
                id=key,
                kwargs={"target": target, "kwargs": dict(kwargs or {})},
                replace_existing=False,
            )
        except ConflictingIdError:
            return False
        return True

    async def cancel(self, key: str) -> bool:
        try:
            self._aps.remove_job(key)
        except JobLookupError:
            return False
        return True

    async def fire(self, key: str, run_time: datetime, target: str, kwargs: dict[str, Any]) -> None:
        claim = f"job:{key}@{run_time.timestamp():.3f}"
        if len(claim) > 120:
            claim = "job:" + hashlib.sha256(claim.encode()).hexdigest()
        if not await self._services.ledger.claim(claim):
            log.info("job %s at %s already ran; skipped", key, run_time)
            return
        self.runs += 1
        await resolve_target(target)(self._services, **kwargs)

    async def stop(self, release: bool = True) -> None:
        """Stop running jobs; ``release=False`` imitates a crash (the lease just expires)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if self._aps.running:
            self._aps.pause()
            running = set(self._executor.running())
            if running:  # let jobs in progress finish (briefly) before the database closes
                await asyncio.wait(running, timeout=5)
            self._aps.shutdown(wait=False)
            await asyncio.gather(*running, return_exceptions=True)
        if release:
            await self._lease.release()
        self._engine.dispose()


def _sync_engine(database_url: str) -> Engine:
    url = sync_url(database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_wal)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
