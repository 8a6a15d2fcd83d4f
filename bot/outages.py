"""Which failures mean "a store is briefly unreachable", so the update is retried.

A handler that fails because the database or Redis cannot be reached has done
nothing wrong: the update waits and runs again once the store is back, instead of
the member getting an apology and the update being marked handled.
"""

from __future__ import annotations

import asyncio

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.errors import WarmlineError

#: SQLSTATE classes of a server going away or refusing: 08 connection, 57 operator
#: intervention (shutdown, crash recovery), 53 insufficient resources
_RETRY_STATES = ("08", "57", "53", "40")


class StoreUnavailable(WarmlineError):
    """The database or Redis cannot be reached right now; try again shortly."""


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a store that could not be reached."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_outage(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, StoreUnavailable | PoolTimeout | OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(state, str) and state.startswith(_RETRY_STATES)
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return True
    return isinstance(exc, ConnectionError | TimeoutError | asyncio.TimeoutError)
