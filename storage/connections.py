"""What every new or pooled DB-API connection gets: SQLite's pragmas, and a ping for
PostgreSQL connections that sat idle in the pool."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

from storage.inline_sqlite import is_inline

#: a pooled PostgreSQL connection idle this long (seconds) is pinged before it is used;
#: one given back more recently worked then (a restart since is met by the update's
#: first statement: the pool is invalidated and the update tried again, as any outage)
PING_AFTER_IDLE = 2.0
#: ``connection_record.info`` key: when the connection was last given back (monotonic)
_RETURNED = "warmline.returned_at"


def ping_when_idle(engine: Engine) -> None:
    """``pool_pre_ping`` for connections that sat idle: a burst's updates, each taking a
    connection given back a moment ago, skip the ping's round trip."""
    event.listen(engine, "connect", _note_returned)
    event.listen(engine, "checkin", _note_returned)
    event.listen(engine, "checkout", _ping_if_idle)


def _note_returned(_dbapi_connection: Any, record: Any) -> None:
    record.info[_RETURNED] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    if time.monotonic() - record.info.get(_RETURNED, 0.0) < PING_AFTER_IDLE:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:  # the pool drops this one and checks out another
        raise DisconnectionError(f"pooled connection is gone: {exc}") from exc


#: SQLite's page cache in a unit of work (KiB): its thousands of small writes keep
#: revisiting the same table and index pages (the default keeps 2 MiB)
UNIT_CACHE_PRAGMA = "PRAGMA cache_size=-32768"


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    if not is_inline(dbapi_connection):  # inline ones wait on the loop, not in SQLite
        cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
