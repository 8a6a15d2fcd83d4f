"""SQLite driven on the event loop's own thread, for a process that is its database's only user.

aiosqlite, SQLAlchemy's async SQLite driver, runs every call on a worker thread
and wakes the loop when it is done: right for a bot, whose loop has other
members to serve meanwhile, but a round trip per cursor, statement and fetch.
The simulator has nothing else to do while a statement runs, and makes
hundreds of thousands of them; the bot's short writes (an update's unit of work,
the inbox) take microseconds each, far less than the trip to the thread. This
connection speaks the part of aiosqlite's API that SQLAlchemy's
``sqlite+aiosqlite`` dialect uses and runs each call at once. Same SQLite, same
SQL, same transactions; no thread.

It never sleeps in SQLite's busy handler (that would block the loop, and with it
the other connection whose commit it waits for): a statement that finds the
database locked gives the loop back and tries again, for up to ``BUSY_PATIENCE``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

#: how long a statement keeps trying while another connection holds the write lock
BUSY_PATIENCE = 5.0
#: the longest pause between two tries
_MAX_PAUSE = 0.05


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> None:
        args = () if parameters is None else parameters
        try:
            self._cursor.execute(sql, args)
        except sqlite3.OperationalError as exc:
            await _when_free(exc, lambda: self._cursor.execute(sql, args))

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> None:
        rows = list(parameters)
        try:
            self._cursor.executemany(sql, rows)
        except sqlite3.OperationalError as exc:
            await _when_free(exc, lambda: self._cursor.executemany(sql, rows))

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """What ``AsyncAdapt_aiosqlite_connection`` calls on an aiosqlite connection,
    including the attribute it reads (``_connection``: the sqlite3 connection, None
    once closed)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close now (also SQLAlchemy's forced close): nothing is ever in flight."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def create_function(
        self, name: str, num_params: int, func: Callable[..., Any], **kw: Any
    ) -> None:
        self._conn.create_function(name, num_params, func, **kw)


def inline_creator(path: str) -> Callable[[], Any]:
    """``async_creator`` for ``create_async_engine``: connections to the file at ``path``.
    Their busy timeout is 0 (see :func:`is_inline`): the waiting is done on the loop."""

    async def connect() -> InlineConnection:
        # the same arguments the aiosqlite dialect passes for a file URL
        return InlineConnection(sqlite3.connect(path, check_same_thread=False, timeout=0))

    return connect


def is_inline(dbapi_connection: Any) -> bool:
    """True for SQLAlchemy's adapter around an :class:`InlineConnection`."""
    return isinstance(getattr(dbapi_connection, "_connection", None), InlineConnection)


#: SQLITE_BUSY, SQLITE_LOCKED, SQLITE_BUSY_RECOVERY: another connection holds a lock
#: for now (not SQLITE_BUSY_SNAPSHOT: that transaction can never write, trying again
#: would only wait)
_WAIT_CODES = frozenset({5, 6, 261})


def _locked(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return "database is locked" in str(exc)
    return code in _WAIT_CODES


async def _when_free(exc: sqlite3.OperationalError, again: Callable[[], object]) -> None:
    """Try ``again`` until the lock is free or ``BUSY_PATIENCE`` ran out (then the
    last error). A statement that met SQLITE_BUSY did nothing, so running it again is
    what SQLite's own busy handler does."""
    if not _locked(exc):
        raise exc
    deadline = time.monotonic() + BUSY_PATIENCE
    pause = 0.001
    while True:
        if time.monotonic() >= deadline:
            raise exc
        await asyncio.sleep(pause)
        pause = min(_MAX_PAUSE, pause * 2)
        try:
            again()
            return
        except sqlite3.OperationalError as later:
            if not _locked(later):
                raise
            exc = later
