"""Engine, sessions and migrations for one database URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.dml import UpdateBase

from storage.connections import UNIT_CACHE_PRAGMA, ping_when_idle, sqlite_pragmas
from storage.held_sqlite import HeldWrites, run_held
from storage.inline_sqlite import inline_creator
from storage.pool import OVERFLOW_IDLE, KeepingPool
from storage.prepared import Prepared
from storage.revisions import MIGRATIONS as MIGRATIONS
from storage.revisions import alembic_config as alembic_config
from storage.revisions import upgrade
from storage.riders import Held, Riders
from storage.unit_state import DEFERRED, Refresh, check, forget, note_failure, run_deferred
from storage.unit_state import UnitOfWorkFailed as UnitOfWorkFailed
from storage.unit_state import refresh_at_commit as refresh_at_commit
from storage.write_turn import WriteTurn

#: how long a short transaction waits for SQLite's write turn before trying anyway
WRITE_LOCK_PATIENCE = 2.0
#: arbitrary constant: serialises concurrent ``upgrade`` runs on PostgreSQL
_MIGRATION_LOCK_ID = 0x5741524D


class Database:
    """Owns the async engine and hands out sessions and connections.

    Repositories open a short transaction per call, which is right for a bot
    serving many members at once. A single writer making thousands of small
    calls (the simulator, on a virtual clock) opens a :meth:`unit_of_work`
    instead: the same calls then share one connection and one transaction,
    committed once.
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        only_user: bool = False,
        pool_size: int = 5,
        max_overflow: int = 5,
        pool_timeout: float = 30.0,
        overflow_idle: float = OVERFLOW_IDLE,
    ) -> None:
        """``pool_size``/``max_overflow``: PostgreSQL connections kept open / opened
        beyond them at peaks (the most this process ever holds is their sum); a query
        finding none free waits up to ``pool_timeout`` seconds instead of failing, so
        bursts queue here rather than exhausting the server's ``max_connections``. The
        ones beyond ``pool_size`` stay open until the pool has not needed them for
        ``overflow_idle`` seconds (:mod:`storage.pool`), so a burst does not reconnect.

        ``only_user``: this process is the database's only user, waits for every
        statement and writes members and journeys only through their repositories
        (the simulator). A SQLite file is then driven on the event loop's own thread
        (:mod:`storage.inline_sqlite`) instead of aiosqlite's worker, and repositories
        may keep the rows they read (:meth:`row_cache`)."""
        self.url = url
        self.only_user = only_user
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "postgresql":
            kwargs.update(
                poolclass=KeepingPool,
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_timeout=pool_timeout,
                overflow_idle=overflow_idle,
                # the most recently used connection first: fewer of them see traffic
                # when it is light, and those skip the ping for idle ones
                pool_use_lifo=True,
            )
        sqlite_file = self.dialect == "sqlite" and parsed.database not in (None, "", ":memory:")
        if only_user and sqlite_file:
            kwargs["async_creator"] = inline_creator(str(parsed.database))
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        #: SQLite: who holds the process's write turn writes on the loop's own thread
        #: (:mod:`storage.inline_sqlite`), a dozen thread round trips fewer per
        #: statement; reads and the rest keep aiosqlite, so a long query never
        #: blocks the loop
        self._writer = self.engine
        if sqlite_file and not only_user:
            self._writer = create_async_engine(
                url, echo=echo, async_creator=inline_creator(str(parsed.database))
            )
        for engine in {self.engine, self._writer}:
            if self.dialect == "sqlite":
                event.listen(engine.sync_engine, "connect", sqlite_pragmas)
            event.listen(engine.sync_engine, "handle_error", note_failure)
        #: PostgreSQL: writes held for the next statement of an update unit (:meth:`write`)
        self._riders: Riders | None = None
        if self.dialect == "postgresql":
            self._riders = Riders(self.engine.dialect)
            sync_engine = self.engine.sync_engine
            event.listen(sync_engine, "before_execute", self._riders.board, retval=True)
            ping_when_idle(sync_engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._unit: AsyncConnection | None = None
        #: per-update units (:meth:`update_unit`), each joined by its own task only
        self._task_units: dict[asyncio.Task[Any], AsyncConnection] = {}
        #: SQLite has one writer: the process's writers queue for its turn
        self._turn = WriteTurn() if self.dialect == "sqlite" else None
        self._row_caches: dict[str, dict[Any, Any]] = {}
        #: SQLite: what :meth:`write` holds inside an update (:mod:`storage.held_sqlite`)
        self._held = HeldWrites()
        #: :meth:`write`'s statements, each built once by its caller, by ``id``
        self._writes: dict[int, Prepared] = {}
        #: features' folders of revision scripts, beside the core's (:meth:`add_migrations`)
        self.migrations: list[Path] = []

    def add_migrations(self, folders: Iterable[Path]) -> None:
        """Migrate (and check) these folders of alembic revision scripts too: features'
        tables, the built-in features' revisions of the core chain and third-party
        branches off it. Storage takes them as given; which features bring which folders
        is the core's business."""
        for folder in folders:
            if folder not in self.migrations:
                self.migrations.append(folder)

    def _current(self) -> AsyncConnection | None:
        """The unit of work this code runs in: the simulator's, or this task's update unit."""
        if self._unit is not None:
            return self._unit
        if self._task_units:
            task = asyncio.current_task()
            if task is not None:
                return self._task_units.get(task)
        return None

    def session(self) -> AsyncSession:
        """A new session; inside a unit of work it joins the unit's transaction, and
        its own commit leaves the committing to the unit."""
        unit = self._current()
        if unit is not None:
            return AsyncSession(
                bind=unit, expire_on_commit=False, join_transaction_mode="rollback_only"
            )
        return self.sessions()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction committed at the end: the unit of work's when
        one is open (committed with the unit), else a connection of its own. Cheaper
        than a session for plain SQL statements."""
        unit = self._current()
        if unit is not None:
            yield unit
            return
        taken = self._held.take()  # SQLite: this update's held writes go first
        locked = await self._lock_writes(timeout=WRITE_LOCK_PATIENCE)
        try:
            async with (self._writer if locked else self.engine).begin() as conn:
                if taken:
                    await run_held(conn, taken)
                yield conn
        except BaseException:
            self._held.give_back(taken)  # rolled back with the rest: held again
            raise
        finally:
            if locked:
                self._unlock_writes()

    async def _flush_held(self) -> None:
        """Commit what this task's update holds (SQLite), if anything."""
        if self._held.pending():
            async with self.transaction():
                pass

    def reading(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection to read with: the unit of work's when one is open."""
        return self._read_on(self.engine)

    def lookup(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for a short read by key (a member, a few journeys): the unit of
        work's when one is open; on SQLite one on the loop's own thread, since such a
        read takes less time than the trip to aiosqlite's thread; else as
        :meth:`reading`. Keep long reads on :meth:`reading`: this one blocks the loop."""
        return self._read_on(self._writer)

    @asynccontextmanager
    async def _read_on(self, engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
        unit = self._current()
        if unit is not None:
            yield unit
            return
        await self._flush_held()  # the task reads what it wrote
        async with engine.connect() as conn:
            yield conn

    async def write(self, statement: UpdateBase, params: dict[str, Any]) -> None:
        """A write nobody waits for the result of and nothing later in this update
        reads back (an interaction logged, the calls noted for an update). Inside a
        PostgreSQL update unit it is held and sent with the unit's next statement, or
        before its commit (:mod:`storage.riders`): no round trip of its own. Inside a
        SQLite update it runs first in the task's next transaction, read or platform
        call (:mod:`storage.held_sqlite`): no commit of its own. Anywhere else it is
        executed now, as in :meth:`transaction` (so is a statement with column
        defaults computed in Python, on PostgreSQL). ``statement`` is built once, with bind
        parameter names of its own (a prefix); ``params`` are their values."""
        unit = self._holding_unit()
        if unit is not None and self._riders is not None and self._riders.holds(statement):
            self._riders.hold(unit.info, Held(statement, params))
            return
        prepared = self._writes.get(id(statement))
        if prepared is None or prepared.statement is not statement:
            prepared = self._writes[id(statement)] = Prepared(statement)
        if self._current() is None and self._held.hold(prepared, params):
            return  # SQLite, in an update: run first in its next transaction
        async with self.transaction() as conn:  # SQLite: straight on the driver
            await prepared.run(conn, params)

    def holds_writes(self) -> bool:
        """Whether :meth:`write` would hold a write now (PostgreSQL, in an update unit)."""
        return self._holding_unit() is not None

    def _holding_unit(self) -> AsyncConnection | None:
        if self._riders is None or not self._task_units:
            return None
        task = asyncio.current_task()
        return self._task_units.get(task) if task is not None else None

    def at_commit(self, refresh: Refresh, ids: Iterable[int]) -> bool:
        """:func:`refresh_at_commit` on the open unit of work; False when none is open."""
        unit = self._current()
        return unit is not None and refresh_at_commit(unit, refresh, ids)

    def row_cache(self, name: str) -> dict[Any, Any] | None:
        """Rows a repository keeps by key once read, current because it applies its own
        writes to them too; one per ``name`` and database, shared by every repository
        object. Only for a database with one user (None otherwise): another process's
        writes would never reach it."""
        if not self.only_user:
            return None
        return self._row_caches.setdefault(name, {})

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[None]:
        """Every session and transaction of this database opened inside, by any task,
        shares one connection and one transaction, committed when the block ends
        (rolled back when it raises). Derived rows are refreshed once, just before the
        commit (:func:`refresh_at_commit`). Meant for one writer, like the simulator: the
        bot keeps its short transactions, so a slow step never holds locks others wait on.
        A nested unit is part of the outer one."""
        if self._unit is not None:
            yield
            return
        async with self.engine.connect() as conn:
            await conn.begin()
            if self.dialect == "sqlite":
                await conn.exec_driver_sql(UNIT_CACHE_PRAGMA)
            conn.info[DEFERRED] = {}
            self._unit = conn
            try:
                yield
                check(conn)
                await run_deferred(conn)
                check(conn)
            except BaseException:
                self._row_caches.clear()  # they may hold what the rollback undoes
                if conn.in_transaction():
                    await conn.rollback()
                raise
            finally:
                self._unit = None
                forget(conn)
            await conn.commit()

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[None]:
        """What this task does with the database inside the block commits together or
        not at all: its sessions and transactions share one connection and transaction,
        committed when the block ends and rolled back when it raises. Other tasks are
        not drawn in (unlike :meth:`unit_of_work`), so the bot may use it for one
        update's writes; keep it short and send nothing from inside it. Inside a unit
        of work, an update unit or another atomic block, it is part of that one."""
        task = asyncio.current_task()
        if task is None or self._current() is not None:
            yield
            return
        await self._flush_held()  # before the block: it may read them
        locked = await self._lock_writes(timeout=None)  # SQLite: one writer at a time
        try:
            conn = await (self._writer if locked else self.engine).connect()
            try:
                await conn.begin()
            except BaseException:
                await conn.close()
                raise
            conn.info[DEFERRED] = {}
            self._task_units[task] = conn
            try:
                yield
            except BaseException:
                await self._end_task_unit(task, commit=False)
                raise
            await self._end_task_unit(task, commit=True)
        finally:
            if locked and self._turn is not None and self._turn.held_by(task):
                self._turn.release()

    # -- one transaction per update ----------------------------------------------------
    @asynccontextmanager
    async def update_unit(self) -> AsyncIterator[None]:
        """What this task writes to the database until the block ends, or until
        :meth:`end_update_unit` (called before the first platform call), is one
        transaction: one commit per update instead of one per statement. Only the
        task that opened it joins it (tasks it starts keep their own transactions).

        SQLite has a single writer: a unit would hold the write lock for as long as
        the handler runs (a slow one would stall every other update and the inbox: the
        webhook would answer 503), so each transaction stays short there; what
        :meth:`write` is given is held and runs first in the task's next one, or when
        the unit ends (:mod:`storage.held_sqlite`)."""
        if self._turn is not None:
            task = asyncio.current_task()
            if task is None or not self._held.open(task):
                yield
                return
            try:
                yield
                await self._flush_held()
            finally:
                self._held.close(task)
            return
        async with self.atomic():
            yield

    async def end_update_unit(self) -> None:
        """Commit this task's update unit now (before a platform call, so nothing is
        sent for writes that are not committed, and no lock is held over the network);
        what the task writes afterwards gets short transactions of its own."""
        await self._flush_held()
        task = asyncio.current_task()
        if task is not None and task in self._task_units:
            try:
                await self._end_task_unit(task, commit=True)
            finally:
                if self._turn is not None and self._turn.held_by(task):
                    self._turn.release()

    async def _end_task_unit(self, task: asyncio.Task[Any], commit: bool) -> None:
        conn = self._task_units.pop(task, None)
        if conn is None:
            return
        try:
            if commit:
                check(conn)
                await run_deferred(conn)
                if self._riders is not None:  # writes no statement carried
                    await conn.run_sync(self._riders.send)
                check(conn)
                await conn.commit()
            elif conn.in_transaction():
                await conn.rollback()
        finally:
            if self._riders is not None:
                self._riders.drop(conn.info)
            forget(conn)
            await conn.close()

    async def _lock_writes(self, timeout: float | None) -> bool:
        """Take the SQLite write turn (no-op elsewhere): :meth:`WriteTurn.take`."""
        return self._turn is not None and await self._turn.take(timeout)

    def _unlock_writes(self) -> None:
        if self._turn is not None:
            self._turn.release()

    async def migrate(self) -> None:
        """Bring the schema to the newest revision of every feature branch."""
        async with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
                )
            await conn.run_sync(upgrade, self.migrations)

    async def close(self) -> None:
        if self._writer is not self.engine:
            await self._writer.dispose()
        await self.engine.dispose()
