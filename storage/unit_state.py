"""What a unit of work keeps on its connection: refreshes deferred to its commit, and
whether one of its statements failed (then it must not commit)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncConnection

#: ``connection.info`` key of a unit of work's deferred refreshes (see :func:`refresh_at_commit`)
DEFERRED = "warmline.deferred_refreshes"
#: ``connection.info`` key set when a statement fails inside a unit of work
FAILED = "warmline.unit_failed"

#: recomputes derived rows for some ids, on a connection in a transaction
Refresh = Callable[[AsyncConnection, list[int]], Awaitable[None]]


class UnitOfWorkFailed(RuntimeError):
    """A statement inside a unit of work failed and rolled the whole unit back."""


def refresh_at_commit(conn: AsyncConnection, refresh: Refresh, ids: Iterable[int]) -> bool:
    """Inside a unit of work, note ``ids`` for ``refresh`` to run once before the unit
    commits (in its transaction, after every change) and return True; outside one,
    return False: the caller refreshes now. Rollups recomputed from their source
    tables use it so that a thousand small writes cost one recompute, not a thousand."""
    deferred: dict[Refresh, set[int]] | None = conn.info.get(DEFERRED)
    if deferred is None:
        return False
    deferred.setdefault(refresh, set()).update(ids)
    return True


async def run_deferred(conn: AsyncConnection) -> None:
    """The refreshes noted on ``conn``, first noted first (a refresh may note more)."""
    deferred: dict[Refresh, set[int]] = conn.info.get(DEFERRED) or {}
    while deferred:
        refresh = next(iter(deferred))
        await refresh(conn, sorted(deferred.pop(refresh)))


def check(unit: AsyncConnection) -> None:
    """Raise :class:`UnitOfWorkFailed` when part of the unit is lost."""
    failed = unit.info.get(FAILED)
    if failed or not unit.in_transaction():
        # a statement failed and its caller went on: part of the unit is lost (or, on
        # PostgreSQL, all of it), so it must not pass for committed
        cause = failed if isinstance(failed, BaseException) else None
        raise UnitOfWorkFailed("a statement failed inside the unit of work") from cause


def forget(conn: AsyncConnection) -> None:
    """The unit is over: its connection carries nothing of it any more."""
    conn.info.pop(DEFERRED, None)
    conn.info.pop(FAILED, None)


def note_failure(context: ExceptionContext) -> None:
    """A statement failed: if it ran in a unit of work, the unit must not commit."""
    conn = context.connection
    if conn is not None and DEFERRED in conn.info:
        conn.info[FAILED] = context.sqlalchemy_exception or context.original_exception or True
