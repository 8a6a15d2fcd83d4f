"""Writes that ride on the next statement of a PostgreSQL update unit.

Inside an update's transaction (:meth:`storage.database.Database.update_unit`) each
statement costs a round trip to the server, and on a busy two-core machine the round
trips, not the statements, are most of what a ``/start`` costs. A write whose result
nobody waits for (the interaction logged, the platform calls noted for the update) need
not take one of its own: :meth:`Database.write` holds it, and the unit's next statement
carries it as a data-modifying CTE (``WITH w0 AS (INSERT …) <the next statement>``), or
it is sent on its own just before the commit. PostgreSQL runs such a CTE exactly once
and to completion, in the same transaction, whether or not the statement reads it; it
fails with it, and then the whole unit rolls back, as it would have anyway.

What a held write may not do is be seen by the statement it rides on (both run on one
snapshot), nor meet another write in the same statement. So it rides only on a plain
Core statement that touches none of the tables it writes and writes none of the tables
it reads (foreign keys count both ways), next to writes whose tables it does not meet.
One kind of write is looked at by column: an UPDATE setting only columns no foreign key
refers to (``started_bot``) changes nothing another statement on the same snapshot could
tell, unless it uses those columns, writes or locks that table: a statement reading other
columns of its rows, or referring to them by key, sees the same values either way.
Before a statement that might see it (or text, ORM, anything whose tables are unknown)
the held writes are sent on their own first, in order. A statement that cannot carry it
but does not meet it (Python-side column defaults, executemany, parameters that would
clash) lets it wait for a later one. Held writes carry their values as bind parameters
with names of their own (see :class:`Held`); since SQLAlchemy fills an INSERT's or
UPDATE's columns from any execution parameter of the same name, a write never rides
with parameters named like its columns. Every verdict is remembered per pairing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import Column, Executable, Table, literal, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Delete, Insert, Select, Update, visitors
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Alias
from sqlalchemy.sql.util import find_tables

#: ``connection.info`` key of the writes held for the unit's next statement
HELD = "warmline.held_writes"
#: ``connection.info`` key set while held writes are being sent on their own
_SENDING = "warmline.sending_held"
#: verdicts remembered (by the statements' ids), then forgotten all at once
_REMEMBERED = 512


class Verdict(Enum):
    """What becomes of the held writes when a statement that cannot carry them runs."""

    #: it does not touch what they write nor write what they read: they wait for a
    #: later statement (it gives Python-side column defaults, runs as executemany, ...)
    WAIT = "wait"
    #: it might see them, or nobody knows what it touches: they are sent first
    SEND = "send"


@dataclass(frozen=True, slots=True)
class Held:
    """One held write: an INSERT, UPDATE or DELETE built once with named bind
    parameters (prefixed, e.g. ``ia_member_id``) and their values for this call."""

    statement: UpdateBase
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Footprint:
    touches: frozenset[str]
    writes: frozenset[str]
    binds: frozenset[str]
    #: column defaults computed in Python before execution: SQLAlchemy leaves them
    #: out of a statement that carries a DML CTE, so such a statement carries none
    prefetch: bool
    #: columns SQLAlchemy would fill from an execution's parameters of the same name
    #: (an INSERT … VALUES or UPDATE takes any such key as a value to write): a held
    #: write never rides with parameters named like them
    exposed: frozenset[str]
    #: per table touched, the columns it uses (None: any of them, e.g. it locks rows)
    columns: Mapping[str, frozenset[str] | None]
    #: an UPDATE of one table setting only these columns, none referred to by a
    #: foreign key: it meets others by column (None: by table, as every other write)
    quiet: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class _Ride:
    """The host statement with some held writes on it (by their place among them)."""

    statement: Executable
    riding: tuple[int, ...]


class Riders:
    """Holds write-only statements per unit connection and puts them on the next
    statement (one per :class:`~storage.database.Database`, for its engine's events)."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        # keyed by ids of statements; each value keeps its statements alive, so an id
        # is not reused while it is remembered
        self._footprints: dict[int, tuple[Executable, _Footprint]] = {}
        self._verdicts: dict[tuple[Any, ...], tuple[Sequence[Executable], Any]] = {}

    def holds(self, statement: UpdateBase) -> bool:
        """Whether ``statement`` can be held at all (no Python-side column defaults)."""
        return not self._footprint(statement).prefetch

    def hold(self, info: dict[Any, Any], held: Held) -> None:
        info.setdefault(HELD, []).append(held)

    def drop(self, info: dict[Any, Any]) -> None:
        info.pop(HELD, None)

    def send(self, conn: Connection) -> None:
        """Send the held writes on their own, in order: as few statements as their
        parameter names allow (writes sharing a name, or naming another's column, go
        in statements of their own)."""
        held: list[Held] | None = conn.info.pop(HELD, None)
        batches: list[list[Held]] = []
        names: set[str] = set()
        exposed: set[str] = set()
        prints: list[_Footprint] = []
        for h in held or ():
            mine = self._footprint(h.statement)
            if (
                not batches
                or mine.binds & (names | exposed)
                or mine.exposed & names
                or any(_meet(mine, other) for other in prints)
            ):
                batches.append([])
                names, exposed, prints = set(), set(), []
            batches[-1].append(h)
            prints.append(mine)
            names |= mine.binds
            exposed |= mine.exposed
        conn.info[_SENDING] = True
        try:
            for batch in batches:
                statement: Executable = batch[0].statement
                if len(batch) > 1:
                    statement = self._carrier(tuple(h.statement for h in batch))
                conn.execute(statement, _merged({}, batch))
        finally:
            conn.info.pop(_SENDING, None)

    def board(
        self,
        conn: Connection,
        statement: Executable,
        multiparams: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any],
        _options: Any,
    ) -> tuple[Executable, Sequence[Mapping[str, Any]], Mapping[str, Any]]:
        """``before_execute`` (retval): the held writes ride on ``statement`` when they
        may, wait for a later statement (:attr:`Verdict.WAIT`) or are sent first."""
        held: list[Held] | None = conn.info.get(HELD)
        if not held or conn.info.get(_SENDING):
            return statement, multiparams, params
        keys = tuple(sorted(multiparams[0] if multiparams else params))
        verdict = self._verdict(statement, [h.statement for h in held], keys)
        if verdict is Verdict.SEND:
            self.send(conn)
        elif isinstance(verdict, _Ride) and not multiparams:
            riding = [held[i] for i in verdict.riding]
            if all(params.keys().isdisjoint(h.params) for h in riding):
                conn.info[HELD] = [h for i, h in enumerate(held) if i not in verdict.riding]
                return verdict.statement, [], _merged(params, riding)
        return statement, multiparams, params

    # -- which statement may carry which writes -------------------------------------
    def _verdict(
        self, host: Executable, riders: list[UpdateBase], keys: tuple[str, ...]
    ) -> _Ride | Verdict:
        """The host with (some of) the riders on it, or what becomes of them."""
        memo_key = (*map(id, (host, *riders)), keys)
        found = self._verdicts.get(memo_key)
        if found is None:
            found = ((host, *riders), self._judge(host, riders, keys))
            self._remember(self._verdicts, memo_key, found)
        verdict: _Ride | Verdict = found[1]
        return verdict

    def _judge(
        self, host: Executable, riders: list[UpdateBase], keys: tuple[str, ...]
    ) -> _Ride | Verdict:
        if not isinstance(host, Insert | Update | Delete | Select):
            return Verdict.SEND  # text, DDL, functions: who knows what they touch
        if host._propagate_attrs.get("compile_state_plugin") == "orm":
            return Verdict.SEND
        ground = _footprint_of(host, self._dialect, keys)
        prints = [self._footprint(rider) for rider in riders]
        for mine in prints:
            if _sees(ground, mine) or (mine.touches - mine.writes) & ground.writes:
                return Verdict.SEND
        if ground.prefetch or host._independent_ctes:
            return Verdict.WAIT
        riding: list[int] = []
        names = set(ground.binds) | set(keys)  # parameter names of the combined statement
        exposed: set[str] = set()
        for i, mine in enumerate(prints):
            clash = mine.binds & (names | exposed) or mine.exposed & names
            if not clash and not any(_meet(mine, prints[r]) for r in riding):
                riding.append(i)
                names |= mine.binds
                exposed |= mine.exposed
        waiting = [i for i in range(len(riders)) if i not in riding]
        for w in waiting:  # a write that waits must not be overtaken by one it meets
            for r in riding:
                if _meet(prints[w], prints[r]):
                    return Verdict.WAIT
        if not riding:
            return Verdict.WAIT
        return _Ride(host.add_cte(*_ctes([riders[i] for i in riding])), tuple(riding))

    def _carrier(self, riders: tuple[UpdateBase, ...]) -> Executable:
        memo_key = tuple(map(id, riders))
        found = self._verdicts.get(memo_key)
        if found is None:
            found = (riders, select(literal(1)).add_cte(*_ctes(riders)))
            self._remember(self._verdicts, memo_key, found)
        carrier: Executable = found[1]
        return carrier

    def _footprint(self, statement: UpdateBase) -> _Footprint:
        found = self._footprints.get(id(statement))
        if found is None:
            found = (statement, _footprint_of(statement, self._dialect, ()))
            self._remember(self._footprints, id(statement), found)
        return found[1]

    @staticmethod
    def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
        if len(memo) >= _REMEMBERED:  # statements built per call would grow it forever
            memo.clear()
        memo[key] = value


def _meet(one: _Footprint, other: _Footprint) -> bool:
    return _sees(one, other) or _sees(other, one)


def _sees(reader: _Footprint, writer: _Footprint) -> bool:
    """Whether ``reader`` touches what ``writer`` writes (by column for a quiet write)."""
    for table in writer.writes & reader.touches:
        used = reader.columns.get(table)
        if writer.quiet is None or table in reader.writes or used is None or used & writer.quiet:
            return True
    return False


def _ctes(riders: Sequence[UpdateBase]) -> list[Any]:
    return [rider.cte(f"warmline_held_{i}") for i, rider in enumerate(riders)]


def _footprint_of(
    statement: UpdateBase | Select[Any], dialect: Dialect, keys: tuple[str, ...]
) -> _Footprint:
    """Tables ``statement`` touches and writes, and how it compiles with parameters
    named ``keys`` (which columns an INSERT is given decides its Python defaults)."""
    tables: set[Table] = set()
    for found in find_tables(
        statement,
        check_columns=True,
        include_aliases=True,
        include_joins=True,
        include_selects=True,
        include_crud=True,
    ):
        element = found.element if isinstance(found, Alias) else found
        if isinstance(element, Table):
            tables.add(element)
    writes: set[Table] = set()
    if isinstance(statement, UpdateBase) and isinstance(statement.table, Table):
        writes.add(statement.table)
        tables.add(statement.table)
    used, locks = _columns_used(statement)
    quiet = _quiet(statement) if tables == writes else None  # no UPDATE … FROM
    # foreign keys are read (and cascade) both ways: count their other ends as touched
    # (by key; a write that changes no key, the quiet one, reaches no other table)
    for table in list(tables):
        for fk in table.foreign_keys:
            tables.add(fk.column.table)
            used.setdefault(fk.column.table.name, set()).add(fk.column.name)
    unknown: set[str] = set()
    for table in writes if quiet is None else ():
        for other in table.metadata.tables.values():
            if any(fk.column.table is table for fk in other.foreign_keys):
                tables.add(other)
                unknown.add(other.name)
    columns = {
        t.name: None if locks or t.name in unknown else frozenset(used.get(t.name, ()))
        for t in tables
    }
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiled, SQLCompiler)
    exposed: frozenset[str] = frozenset()
    takes_values = isinstance(statement, Update) or (
        isinstance(statement, Insert) and statement.select is None
    )
    if takes_values and isinstance(statement.table, Table):  # type: ignore[union-attr]
        exposed = frozenset(statement.table.c.keys())  # type: ignore[union-attr]
    return _Footprint(
        frozenset(t.name for t in tables),
        frozenset(t.name for t in writes),
        frozenset(compiled.binds),
        bool(compiled.insert_prefetch or compiled.update_prefetch),
        exposed,
        columns,
        quiet,
    )


def _columns_used(statement: UpdateBase | Select[Any]) -> tuple[dict[str, set[str]], bool]:
    """The columns ``statement`` names, per table (an alias's under its table), and
    whether it locks rows (``FOR UPDATE`` and the like)."""
    used: dict[str, set[str]] = {}
    locks = False
    for element in visitors.iterate(statement):
        if isinstance(element, Select) and element._for_update_arg is not None:
            locks = True
        if isinstance(element, Column):
            table: Any = element.table
            if isinstance(table, Alias):
                table = table.element
            if isinstance(table, Table):
                used.setdefault(table.name, set()).add(element.name)
    return used, locks


def _quiet(statement: UpdateBase | Select[Any]) -> frozenset[str] | None:
    """The columns a quiet write sets (see :attr:`_Footprint.quiet`), or None."""
    if not isinstance(statement, Update) or not isinstance(statement.table, Table):
        return None
    table = statement.table
    if statement._returning or statement._independent_ctes:
        return None
    names = {
        getattr(key, "name", None) if not isinstance(key, str) else key
        for key in statement._values or ()
    }
    referred = {
        fk.column.name
        for other in table.metadata.tables.values()
        for fk in other.foreign_keys
        if fk.column.table is table
    }
    keys = {c.name for c in table.primary_key.columns}
    if not names or None in names or names & (referred | keys):
        return None
    return frozenset(name for name in names if name is not None)


def _merged(params: Mapping[str, Any], held: list[Held]) -> dict[str, Any]:
    merged = dict(params)
    for h in held:
        merged.update(h.params)
    return merged
