"""One statement run for many rows, the rows handed to the driver as plain tuples.

SQLAlchemy's executemany builds, for every row, a dict of every bind and then the
driver's tuple from it, through the statement's cache lookup each time: for the
hottest batched writes (the decision log, journeys written back, flow timers) that
cost as much as SQLite's own insert. :class:`Bulk` compiles its statement once per
dialect, takes each bind's type processor once, and passes the driver tuples built
straight from the caller's values. Same SQL, same transaction, same conversions.

A statement whose compiled form needs a value the caller does not give (a Python
side column default, say) is refused when it is first compiled: the driver would
otherwise be handed an incomplete row.

Where :mod:`storage.prepared` may run a statement straight on SQLite's own connection
(:func:`~storage.prepared.sqlite_driver`), the rows go there, past SQLAlchemy's
execute path (its context, a greenlet hop, each row copied twice). A failure that
changed nothing (a lock another connection holds, say) runs again through
SQLAlchemy, which waits or raises as it always does; one after some rows were
written is raised as SQLAlchemy raises it, its error handlers told.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from storage.prepared import sqlite_driver

#: builds the driver's parameters (a tuple, or a dict for a named paramstyle) of one row
_Row = Callable[[Sequence[Any]], Any]


class Bulk:
    """``statement`` with binds ``names``; :meth:`run` takes rows of values in that order."""

    def __init__(self, statement: ClauseElement, names: Sequence[str]) -> None:
        self._statement = statement
        self._names = tuple(names)
        self._plans: dict[str, tuple[str, _Row]] = {}

    async def run(self, conn: AsyncConnection, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        plan = self._plans.get(conn.dialect.name)
        if plan is None:
            plan = self._plans[conn.dialect.name] = self._plan(conn.dialect)
        sql, build = plan
        params = [build(row) for row in rows]
        driver = sqlite_driver(conn)
        if driver is not None:
            changes = driver.total_changes
            try:
                driver.executemany(sql, params).close()
                return
            except sqlite3.Error as exc:
                if driver.total_changes != changes:
                    await _raise(conn, exc, sql, params)
                # nothing written: SQLAlchemy's path runs it again (and waits or raises)
        await conn.exec_driver_sql(sql, params)

    def _plan(self, dialect: Dialect) -> tuple[str, _Row]:
        compiled = self._statement.compile(
            dialect=dialect, column_keys=list(self._names), for_executemany=True
        )
        if not isinstance(compiled, SQLCompiler):
            raise TypeError(f"not a SQL statement: {self._statement!r}")
        order = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
        prefetch = [*compiled.insert_prefetch, *compiled.update_prefetch]
        prefetched = {column.key for column in prefetch}
        missing = [
            name
            for name in order
            if name not in self._names and (name in prefetched or compiled.binds[name].required)
        ]
        if missing:
            raise ValueError(
                f"bulk statement needs binds {missing} its rows do not give "
                f"(rows give {list(self._names)})"
            )
        index = {name: i for i, name in enumerate(self._names)}
        picks = [index.get(name, -1) for name in order]
        # a bind the rows do not give holds the statement's own value (``fired=False``)
        fixed = [compiled.binds[name].effective_value for name in order]
        processors = [compiled.binds[name].type.bind_processor(dialect) for name in order]
        processed = [(n, process) for n, process in enumerate(processors) if process is not None]
        as_given = picks == list(range(len(self._names)))

        def values(row: Sequence[Any]) -> list[Any]:
            out = (
                list(row)
                if as_given
                else [row[i] if i >= 0 else fixed[n] for n, i in enumerate(picks)]
            )
            for n, process in processed:
                out[n] = process(out[n])
            return out

        if compiled.positional:

            def build(row: Sequence[Any]) -> Any:
                return tuple(values(row))

        else:
            keys = [compiled.bind_names.get(compiled.binds[name], name) for name in order]

            def build(row: Sequence[Any]) -> Any:
                return dict(zip(keys, values(row), strict=True))

        return compiled.string, build


async def _raise(conn: AsyncConnection, exc: sqlite3.Error, sql: str, params: list[Any]) -> None:
    """``exc`` raised as SQLAlchemy's execute raises it (wrapped, its ``handle_error``
    listeners told: a unit of work then refuses to commit), on its greenlet."""

    def handle(sync: Connection) -> None:
        sync._handle_dbapi_exception(exc, sql, params, None, None)

    await conn.run_sync(handle)
