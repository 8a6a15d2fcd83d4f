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

An expanding ``IN`` list (``bindparam(..., expanding=True)``) is planned once per
length of the list given: SQLAlchemy renders the statement for that length
(:meth:`SQLCompiler.construct_expanded_state`, what its execute does on every
call), and each later run with a list that long only fills in the values.

Everything else takes SQLAlchemy's path, unchanged: PostgreSQL, aiosqlite's
threaded connections, a connection not in a transaction, an engine with execute
or cursor listeners or echo, a statement this module refuses to plan (values
rendered into the SQL, tuple ``IN`` lists, a Python-side column default, a bind
the caller does not give). A
statement SQLite refuses is run again through SQLAlchemy, which raises as it
always does (its error handlers see it); SQLite rolled back the failed statement,
so nothing is done twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.exc import MultipleResultsFound, NoResultFound
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import ExpandedState, SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

from storage.inline_sqlite import InlineConnection

#: :meth:`Prepared.each` runs at most this many rows one by one on the fast path
EACH_MOST = 4
#: engine events a statement run past SQLAlchemy would skip: their engine never gets it
_EXECUTE_EVENTS = ("before_execute", "after_execute", "before_cursor_execute")
#: lengths of a statement's ``IN`` lists planned at most (then SQLAlchemy renders the rest)
EXPANSIONS_MOST = 512


class _Plan:
    """One compiled form: the SQL, how to build the driver tuple, how to read rows.
    ``expanded``: the statement rendered for lists of given lengths; ``picks`` then
    holds, per driver parameter, the index into its list (-1: not a list)."""

    __slots__ = ("fixed", "names", "picks", "processors", "results", "returns_rows", "sql")

    def __init__(
        self,
        compiled: SQLCompiler,
        dialect: Dialect,
        given: Sequence[str],
        expanded: ExpandedState | None = None,
    ) -> None:
        order = list(compiled.positiontup or ())
        prefetched = {c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)}
        missing = [
            name
            for name in order
            if name not in given and (name in prefetched or compiled.binds[name].required)
        ]
        if missing:
            raise _Refused(f"binds {missing} not given")
        #: a bind the caller does not give holds the statement's own value (``fired=True``)
        self.fixed: dict[str, Any] = {name: compiled.binds[name].effective_value for name in order}
        self.picks: list[int] | None = None
        if expanded is None:
            self.sql: str = compiled.string
            self.names = order
        else:
            source = {
                new: (name, index)
                for name, news in expanded.parameter_expansion.items()
                for index, new in enumerate(news)
            }
            picked = [source.get(name, (name, -1)) for name in expanded.positiontup or ()]
            self.sql = expanded.statement
            self.names = [name for name, _ in picked]
            self.picks = [index for _, index in picked]
        # an IN list's values are processed as its elements' type (the bind's type)
        processor = {
            name: compiled.binds[name].type.bind_processor(dialect) for name in set(self.names)
        }
        self.processors = [processor[name] for name in self.names]
        self.returns_rows = bool(compiled._result_columns)
        self.results: list[Callable[[Any], Any] | None] = [
            entry.type._cached_result_processor(dialect, None) for entry in compiled._result_columns
        ]

    def params(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        fixed = self.fixed
        out = []
        if self.picks is None:
            for name, process in zip(self.names, self.processors, strict=True):
                value = given[name] if name in given else fixed[name]
                out.append(value if process is None else process(value))
            return tuple(out)
        for name, index, process in zip(self.names, self.picks, self.processors, strict=True):
            value = given[name] if name in given else fixed[name]
            if index >= 0:
                value = value[index]
            out.append(value if process is None else process(value))
        return tuple(out)

    def rows(self, raw: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        results = self.results
        if not any(results):
            return raw
        return [
            tuple(v if p is None else p(v) for v, p in zip(row, results, strict=True))
            for row in raw
        ]


class _Expanding:
    """A statement with ``IN`` lists: a :class:`_Plan` per set of list lengths given,
    each rendered by SQLAlchemy as its execute would render it for those lengths."""

    __slots__ = ("compiled", "dialect", "given", "lists", "plans")

    def __init__(
        self, compiled: SQLCompiler, dialect: Dialect, given: Sequence[str], lists: list[str]
    ) -> None:
        self.compiled = compiled
        self.dialect = dialect
        self.given = given
        self.lists = lists
        self.plans: dict[tuple[int, ...], _Plan | None] = {}

    def plan(self, params: Mapping[str, Any]) -> _Plan | None:
        values = [params[name] for name in self.lists]
        if any(type(value) not in (list, tuple) for value in values):
            return None  # a set, a generator: SQLAlchemy's path takes what it takes
        lengths = tuple(len(value) for value in values)
        if lengths in self.plans:
            return self.plans[lengths]
        if len(self.plans) >= EXPANSIONS_MOST:
            return None
        try:
            expanded = self.compiled.construct_expanded_state(dict(params))
            plan: _Plan | None = _Plan(self.compiled, self.dialect, self.given, expanded)
        except _Refused:
            plan = None
        self.plans[lengths] = plan
        return plan


class _Refused(ValueError):
    """The statement is not planned for the fast path (it takes SQLAlchemy's)."""


class Prepared:
    """``statement`` built once; :meth:`all` / :meth:`scalars` / :meth:`run` execute it
    with one set of binds on ``conn`` and give plain tuples (or SQLAlchemy's rows, on
    its path: both index alike)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, ...], _Plan | _Expanding | None] = {}
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
        ``EACH_MOST`` rows SQLAlchemy's one multi-row statement costs less than a run
        per row (measured: 3 rows 170 us against 280 us, 8 rows 540 us against 440 us)."""
        if not rows:
            return []
        out: list[Any] = []
        if len(rows) > EACH_MOST:
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
            found = self._plans[key] = self._plan(conn.dialect, key)
        plan = found.plan(params) if isinstance(found, _Expanding) else found
        if plan is None:
            return None
        try:
            cursor = driver.execute(plan.sql, plan.params(params))
            try:
                raw = cursor.fetchall() if plan.returns_rows else []
            finally:
                cursor.close()
        except sqlite3.Error:
            return None  # run again by SQLAlchemy, which raises (see the module doc)
        self.direct += 1
        return plan.rows(raw)

    def _plan(self, dialect: Dialect, given: tuple[str, ...]) -> _Plan | _Expanding | None:
        if not isinstance(self.statement, ClauseElement):
            return None
        compiled = self.statement.compile(dialect=dialect, column_keys=list(given))
        if not isinstance(compiled, SQLCompiler) or not compiled.positional:
            return None
        if compiled.literal_execute_params:
            return None  # values rendered into the SQL, per call, by SQLAlchemy
        if compiled.implicit_returning:
            return None  # rows SQLAlchemy reads for itself (a new row's key)
        lists = [compiled.bind_names[bind] for bind in compiled.post_compile_params]
        if lists:
            plain = all(
                bind.expanding and not bind.type._is_tuple_type
                for bind in compiled.post_compile_params
            )
            if not plain or compiled.escaped_bind_names or not set(lists) <= set(given):
                return None  # tuple IN lists, escaped names, a list not given
            return _Expanding(compiled, dialect, given, lists)
        try:
            return _Plan(compiled, dialect, given)
        except _Refused:
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
    if any(getattr(dispatch, name) for name in _EXECUTE_EVENTS):
        return None
    inline = getattr(sync.connection.dbapi_connection, "_connection", None)
    if not isinstance(inline, InlineConnection):
        return None
    return inline._connection
