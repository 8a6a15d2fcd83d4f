"""How a statement runs on SQLite's own connection (:mod:`storage.prepared`'s fast path).

A :class:`Plan` is one compiled form: the SQL, each bind's type processor, each
result column's. An ``IN`` list is planned once per length (:class:`Expanding`),
rendered as SQLAlchemy renders it; many rows of an INSERT … RETURNING are one
multi-row VALUES statement (:class:`ManyValues`), as SQLAlchemy's "insertmanyvalues"
renders them. A statement (or form of it) these refuse takes SQLAlchemy's path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.sql.compiler import ExpandedState, SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

#: lengths of a statement's ``IN`` lists planned at most (then SQLAlchemy renders the rest)
EXPANSIONS_MOST = 512


class Plan:
    """One compiled form: the SQL, how to build the driver tuple, how to read rows.
    ``expanded``: the statement rendered for lists of given lengths; ``runs`` then
    holds, per bind in the SQL's order, whether its whole list goes there (its values
    in order, as SQLAlchemy renders them) or its one value."""

    __slots__ = (
        "converted",
        "fixed",
        "names",
        "processors",
        "results",
        "returns_rows",
        "runs",
        "sql",
    )

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
            raise Refused(f"binds {missing} not given")
        #: a bind the caller does not give holds the statement's own value (``fired=True``)
        self.fixed: dict[str, Any] = {name: compiled.binds[name].effective_value for name in order}
        self.runs: list[tuple[str, bool, Callable[[Any], Any] | None]] | None = None
        # an IN list's values are processed as its elements' type (the bind's type)
        processor = {name: compiled.binds[name].type.bind_processor(dialect) for name in order}
        self.sql: str = compiled.string
        self.names = order
        if expanded is not None:
            self.sql = expanded.statement
            self.runs = _runs(expanded, processor)
        self.processors = [processor[name] for name in self.names]
        self.returns_rows = bool(compiled._result_columns)
        self.results: list[Callable[[Any], Any] | None] = [
            entry.type._cached_result_processor(dialect, None) for entry in compiled._result_columns
        ]
        #: the result columns a processor converts, by position (most pass as read)
        self.converted = [(n, p) for n, p in enumerate(self.results) if p is not None]

    def params(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        fixed = self.fixed
        out: list[Any] = []
        if self.runs is None:
            for name, process in zip(self.names, self.processors, strict=True):
                value = given[name] if name in given else fixed[name]
                out.append(value if process is None else process(value))
            return tuple(out)
        for name, whole, each in self.runs:
            value = given[name] if name in given else fixed[name]
            if not whole:
                out.append(value if each is None else each(value))
            elif each is None:
                out.extend(value)
            else:
                out.extend([each(item) for item in value])
        return tuple(out)

    def rows(self, raw: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        converted = self.converted
        if not converted:
            return raw
        out = []
        for row in raw:
            values = list(row)
            for n, process in converted:
                values[n] = process(values[n])
            out.append(tuple(values))
        return out


def _runs(
    expanded: ExpandedState, processor: Mapping[str, Callable[[Any], Any] | None]
) -> list[tuple[str, bool, Callable[[Any], Any] | None]]:
    """The expanded SQL's parameters as runs: a bind's one value, or a whole list."""
    source = {
        new: (name, index)
        for name, news in expanded.parameter_expansion.items()
        for index, new in enumerate(news)
    }
    runs: list[tuple[str, bool, Callable[[Any], Any] | None]] = []
    at = 0
    order = list(expanded.positiontup or ())
    while at < len(order):
        name, index = source.get(order[at], (order[at], -1))
        if index < 0:
            runs.append((name, False, processor[name]))
            at += 1
            continue
        news = expanded.parameter_expansion[name]
        if order[at : at + len(news)] != news:
            raise Refused(f"the values of list {name!r} are not rendered in order")
        runs.append((name, True, processor[name]))
        at += len(news)
    return runs


class Expanding:
    """A statement with ``IN`` lists: a :class:`Plan` per set of list lengths given,
    each rendered by SQLAlchemy as its execute would render it for those lengths."""

    __slots__ = ("compiled", "dialect", "given", "lists", "plans")

    def __init__(
        self, compiled: SQLCompiler, dialect: Dialect, given: Sequence[str], lists: list[str]
    ) -> None:
        self.compiled = compiled
        self.dialect = dialect
        self.given = given
        self.lists = lists
        self.plans: dict[tuple[int, ...], Plan | None] = {}

    def plan(self, params: Mapping[str, Any]) -> Plan | None:
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
            plan: Plan | None = Plan(self.compiled, self.dialect, self.given, expanded)
        except Refused:
            plan = None
        self.plans[lengths] = plan
        return plan


class ManyValues:
    """Rows of an INSERT … RETURNING run as one multi-row VALUES statement, rendered
    as SQLAlchemy's "insertmanyvalues" renders a batch that fits one page: the single
    row's VALUES clause repeated, the binds outside it (an upsert's) taken once from
    the first row. More rows than one page take SQLAlchemy's path."""

    __slots__ = ("_sql", "_statement", "_values", "high", "low", "most", "plan")

    def __init__(self, compiled: SQLCompiler, dialect: Dialect, given: Sequence[str]) -> None:
        imv = compiled._insertmanyvalues
        if (
            imv is None  # SQLAlchemy's executemany would run it row by row
            or imv.is_default_expr
            or imv.embed_values_counter
            or imv.sentinel_param_keys
            or (imv.has_upsert_bound_parameters and compiled._result_columns)
            or not dialect.supports_multivalues_insert
            or compiled.post_compile_params
            or compiled.literal_execute_params
            or compiled.implicit_returning
        ):
            raise Refused("not a multi-row VALUES statement")
        self.plan = Plan(compiled, dialect, given)
        order = list(compiled.positiontup or ())
        expanding = {name for element in imv.insert_crud_params for name in element[3]}
        at = [index for index, name in enumerate(order) if name in expanding]
        self.low, self.high = (min(at), max(at) + 1) if at else (0, 0)
        if imv.num_positional_params_counted == len(order):
            self.low, self.high = 0, len(order)
        if len(at) != self.high - self.low or self.high == self.low:
            raise Refused("the VALUES binds are not one run")
        self._values = f"({imv.single_values_expr})"
        if self._values not in compiled.string:
            raise Refused("no VALUES clause to repeat")
        self._statement = compiled.string.replace(self._values, "__EXECMANY_TOKEN__")
        self._sql: dict[int, str] = {}
        page = dialect.insertmanyvalues_page_size
        most_params = dialect.insertmanyvalues_max_parameters
        if most_params:
            per_row = len(imv.insert_crud_params)
            outside = len(compiled.bind_names) - per_row
            page = min(page, (most_params - outside) // per_row)
        self.most = page

    def sql(self, count: int) -> str:
        found = self._sql.get(count)
        if found is None:
            values = ", ".join([self._values] * count)
            found = self._sql[count] = self._statement.replace("__EXECMANY_TOKEN__", values)
        return found

    def params(self, rows: Sequence[Mapping[str, Any]]) -> tuple[Any, ...]:
        low, high, plan = self.low, self.high, self.plan
        first = plan.params(rows[0])
        out = list(first[:high])
        for row in rows[1:]:
            out.extend(plan.params(row)[low:high])
        out.extend(first[high:])
        return tuple(out)


class Refused(ValueError):
    """The statement is not planned for the fast path (it takes SQLAlchemy's)."""


def plan_many(statement: Executable, dialect: Dialect, given: tuple[str, ...]) -> ManyValues | None:
    """The multi-row form of an INSERT … RETURNING (:class:`ManyValues`), or None."""
    if not isinstance(statement, ClauseElement):
        return None
    compiled = statement.compile(dialect=dialect, column_keys=list(given), for_executemany=True)
    if not isinstance(compiled, SQLCompiler) or not compiled.positional:
        return None
    try:
        return ManyValues(compiled, dialect, given)
    except Refused:
        return None


def plan_one(
    statement: Executable, dialect: Dialect, given: tuple[str, ...]
) -> Plan | Expanding | None:
    """How ``statement`` runs with binds ``given`` on the fast path; None: it does not."""
    if not isinstance(statement, ClauseElement):
        return None
    compiled = statement.compile(dialect=dialect, column_keys=list(given))
    if not isinstance(compiled, SQLCompiler) or not compiled.positional:
        return None
    if compiled.literal_execute_params:
        return None  # values rendered into the SQL, per call, by SQLAlchemy
    if compiled.implicit_returning:
        return None  # rows SQLAlchemy reads for itself (a new row's key)
    lists = [compiled.bind_names[bind] for bind in compiled.post_compile_params]
    if lists:
        plain = all(
            bind.expanding and not bind.type._is_tuple_type for bind in compiled.post_compile_params
        )
        if not plain or compiled.escaped_bind_names or not set(lists) <= set(given):
            return None  # tuple IN lists, escaped names, a list not given
        return Expanding(compiled, dialect, given, lists)
    try:
        return Plan(compiled, dialect, given)
    except Refused:
        return None
