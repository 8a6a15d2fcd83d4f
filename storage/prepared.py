"""Hot statements compiled once and run straight on SQLite's own connection.

A statement the bot runs for every due timer, slot claim or order (hundreds of
thousands of times in a simulated season) spends more time in SQLAlchemy's
execute path (cache lookup, execution context, bind dict, result metadata, the
greenlet hop) than in SQLite. :class:`Prepared` compiles its statement once per
set of bind names, keeps each bind's type processor and each result column's,
and, where that is the same thing, hands the driver tuple straight to the
``sqlite3`` connection under the caller's SQLAlchemy connection: same SQL, same
transaction (SQLAlchemy's SQLite ``BEGIN`` is the driver's own implicit one),
same conversions both ways.

An expanding ``IN`` list is planned once per length of the list given, as
SQLAlchemy renders it for that length; many rows of an INSERT … RETURNING run as
one multi-row VALUES statement, as SQLAlchemy's "insertmanyvalues" renders them
(:mod:`storage.plans`).

Everything else takes SQLAlchemy's path, unchanged: PostgreSQL, aiosqlite's
threaded connections, a connection not in a transaction, an engine with execute
or cursor listeners or echo, a statement :mod:`storage.plans` refuses (values
rendered into the SQL, tuple ``IN`` lists, a Python-side column default, a bind
the caller does not give, rows past one page). A statement SQLite refuses is run
again through SQLAlchemy, which raises as it always does (its error handlers see
it); SQLite rolled back the failed statement (each fast run is one statement), so
nothing is done twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.exc import MultipleResultsFound, NoResultFound
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

from storage.inline_sqlite import InlineConnection
from storage.plans import Expanding, ManyValues, Plan, plan_many, plan_one

#: :meth:`Prepared.each` runs at most this many rows one by one on the fast path
EACH_MOST = 4


class Prepared:
    """``statement`` built once; :meth:`all` / :meth:`scalars` / :meth:`run` execute it
    with one set of binds on ``conn`` and give plain tuples (or SQLAlchemy's rows, on
    its path: both index alike)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, ...], Plan | Expanding | None] = {}
        self._many: dict[tuple[str, ...], ManyValues | None] = {}
        #: how many runs took the fast path (for tests and profiling)
        self.direct = 0

    async def all(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Sequence[Any]:
        done = self._direct(conn, params)
        if done is not None:
            return done
        result = await conn.execute(self.statement, dict(params))
        return result.all() if result.returns_rows else []

    async def each(self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> Sequence[Any]:
        """Every row's returned rows: one run per row on the fast path (SQLite runs the
        rows of a multi-row statement one by one too), else one executemany. Past
        ``EACH_MOST`` rows one multi-row statement costs less than a run per row
        (measured: 3 rows 170 us against 280 us, 8 rows 540 us against 440 us): an
        INSERT … RETURNING runs as one on the fast path (:class:`~storage.plans.ManyValues`), the others
        take SQLAlchemy's executemany."""
        if not rows:
            return []
        out: list[Any] = []
        if len(rows) > EACH_MOST:
            done = self._direct_many(conn, rows)
            if done is not None:
                return done
            result = await conn.execute(self.statement, [dict(p) for p in rows])
            return result.all() if result.returns_rows else []
        for n, params in enumerate(rows):
            done = self._direct(conn, params)
            if done is None:
                result = await conn.execute(self.statement, [dict(p) for p in rows[n:]])
                out.extend(result.all() if result.returns_rows else [])
                break
            out.extend(done)
        return out

    async def scalars(self, conn: AsyncConnection, params: Mapping[str, Any]) -> list[Any]:
        return [row[0] for row in await self.all(conn, params)]

    async def one(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Any:
        """The only row, as SQLAlchemy's ``Result.one``: an error for none or more."""
        rows = await self.all(conn, params)
        if len(rows) != 1:
            error = NoResultFound if not rows else MultipleResultsFound
            raise error(f"{len(rows)} rows where one was required")
        return rows[0]

    async def run(self, conn: AsyncConnection, params: Mapping[str, Any]) -> None:
        await self.all(conn, params)

    def _direct(
        self, conn: AsyncConnection, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]] | None:
        """The rows, run on the driver; None where SQLAlchemy's path must run it."""
        driver = sqlite_driver(conn)
        if driver is None:
            return None
        key = tuple(params)
        if key in self._plans:
            found = self._plans[key]
        else:
            found = self._plans[key] = plan_one(self.statement, conn.dialect, key)
        plan = found.plan(params) if isinstance(found, Expanding) else found
        if plan is None:
            return None
        raw = _fetch(driver, plan.sql, plan.params(params), plan.returns_rows)
        if raw is None:
            return None
        self.direct += 1
        return plan.rows(raw)

    def _direct_many(
        self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]
    ) -> list[tuple[Any, ...]] | None:
        """The rows an INSERT … RETURNING of ``rows`` returns, as one statement run on
        the driver; None where SQLAlchemy's path must run it."""
        driver = sqlite_driver(conn)
        if driver is None:
            return None
        key = tuple(rows[0])
        if any(tuple(row) != key for row in rows):
            return None  # rows with other binds: SQLAlchemy's executemany checks them
        if key in self._many:
            many = self._many[key]
        else:
            many = self._many[key] = plan_many(self.statement, conn.dialect, key)
        if many is None or len(rows) > many.most:
            return None
        raw = _fetch(driver, many.sql(len(rows)), many.params(rows), True)
        if raw is None:
            return None
        self.direct += 1
        return many.plan.rows(raw)


def _fetch(
    driver: sqlite3.Connection, sql: str, params: tuple[Any, ...], returns_rows: bool
) -> list[tuple[Any, ...]] | None:
    """One statement run on the driver, its rows; None when SQLite refused it (it rolled
    the statement back: SQLAlchemy's path runs it again and raises, see the module doc)."""
    try:
        cursor = driver.execute(sql, params)
        try:
            return cursor.fetchall() if returns_rows else []
        finally:
            cursor.close()
    except sqlite3.Error:
        return None


def sqlite_driver(conn: AsyncConnection) -> sqlite3.Connection | None:
    """The ``sqlite3`` connection under ``conn`` when a statement may run on it directly:
    an inline SQLite connection (:mod:`storage.inline_sqlite`) in a transaction, on an
    engine that neither echoes nor listens to executes; else None."""
    if conn.dialect.name != "sqlite" or not conn.in_transaction():
        return None
    sync = conn.sync_connection
    if sync is None or sync.closed or sync.invalidated or sync._echo:
        return None
    dispatch = sync.dispatch
    # engine events a statement run past SQLAlchemy would skip: their engine never gets it
    if dispatch.before_execute or dispatch.after_execute or dispatch.before_cursor_execute:
        return None
    inline = getattr(sync.connection.dbapi_connection, "_connection", None)
    if not isinstance(inline, InlineConnection):
        return None
    return inline._connection
