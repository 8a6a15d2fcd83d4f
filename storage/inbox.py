"""The update inbox in SQL: what was acknowledged to the platform and not yet handled.

A row goes in before the platform hears "got it" and leaves in the transaction that
records its key in ``processed_updates``; between the two, the worker that holds its
lease handles it. A worker that dies leaves its rows behind, and whichever worker
next finds their lease expired takes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, Table, Text, bindparam, delete, exists, func, literal, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.expression import Executable

from storage.database import Database
from storage.inbox_tables import InboxUpdate
from storage.members import insert_for
from storage.tables import ProcessedUpdate

_INBOX: Table = InboxUpdate.__table__  # type: ignore[assignment]
_PROCESSED: Table = ProcessedUpdate.__table__  # type: ignore[assignment]


#: bind names of its own (``note_``): it may ride on another statement (storage.riders)
_NOTE_CALLS = (
    update(_INBOX)
    .where(_INBOX.c.key == bindparam("note_key"))
    .values(calls=bindparam("note_calls"))
)


def _pg_put() -> Executable:
    """PostgreSQL's ``put``: the batch as two arrays, one statement whatever its size
    (so one prepared statement on each connection, and no round trip for the check)."""
    given = (
        func.unnest(
            bindparam("keys", type_=postgresql.ARRAY(String)),
            bindparam("raws", type_=postgresql.ARRAY(Text)),
        )
        .table_valued("key", "raw")
        .render_derived(name="given")
    )
    rows = select(
        given.c.key,
        given.c.raw,
        bindparam("now", type_=_INBOX.c.received_at.type),
        bindparam("until", type_=_INBOX.c.lease_until.type),
        literal(0),
    ).where(~exists().where(_PROCESSED.c.key == given.c.key))
    columns = ["key", "raw", "received_at", "lease_until", "attempts"]
    return (
        postgresql.insert(_INBOX)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(_INBOX.c.key)
    )


def _pg_finish() -> Executable:
    """PostgreSQL's ``finish``: the keys as one array, deleted from the inbox and
    recorded as handled by one statement (a data-modifying CTE)."""
    keys = bindparam("keys", type_=postgresql.ARRAY(String))
    gone = delete(_INBOX).where(_INBOX.c.key == func.any(keys)).returning(_INBOX.c.key).cte("gone")
    done = func.unnest(keys).table_valued("key").render_derived(name="done")
    return (
        postgresql.insert(_PROCESSED)
        .from_select(
            ["key", "at"], select(done.c.key, bindparam("now", type_=_PROCESSED.c.at.type))
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .add_cte(gone)
    )


_PG_PUT = _pg_put()
_PG_FINISH = _pg_finish()


@dataclass(frozen=True, slots=True)
class Stored:
    key: str
    raw: str
    #: platform calls an earlier run noted (JSON, see bot.call_journal), if any
    calls: str | None = None


class SqlInbox:
    """Every method is one short transaction; ``put`` and ``finish`` take batches."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, rows: Sequence[Stored], now: datetime, lease: timedelta) -> set[str]:
        """Store ``rows``; returns the keys that are new (neither waiting nor handled).

        A key already waiting is another delivery of the same update: whoever holds
        that row handles it. A key in ``processed_updates`` was handled already.
        """
        if not rows:
            return set()
        if self._db.dialect == "postgresql":
            given: dict[str, str] = {}
            for row in rows:
                given.setdefault(row.key, row.raw)
            params = {"keys": list(given), "raws": list(given.values())}
            async with self._db.transaction() as conn:
                result = await conn.execute(_PG_PUT, {**params, "now": now, "until": now + lease})
                return set(result.scalars())
        keys = [row.key for row in rows]
        async with self._db.transaction() as conn:
            done = set(
                (
                    await conn.execute(select(_PROCESSED.c.key).where(_PROCESSED.c.key.in_(keys)))
                ).scalars()
            )
            fresh: dict[str, Stored] = {}
            for row in rows:
                if row.key not in done:
                    fresh.setdefault(row.key, row)
            if not fresh:
                return set()
            until = now + lease
            stmt = (
                insert_for(self._db.dialect, _INBOX)
                .values(
                    [
                        {
                            "key": row.key,
                            "raw": row.raw,
                            "received_at": now,
                            "lease_until": until,
                            "attempts": 0,
                        }
                        for row in fresh.values()
                    ]
                )
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(_INBOX.c.key)
            )
            return set((await conn.execute(stmt)).scalars())

    async def finish(self, keys: Iterable[str], now: datetime) -> None:
        """Handled: out of the inbox and into ``processed_updates``, atomically."""
        wanted = sorted(set(keys))
        if not wanted:
            return
        async with self._db.transaction() as conn:
            if self._db.dialect == "postgresql":
                await conn.execute(_PG_FINISH, {"keys": wanted, "now": now})
                return
            await conn.execute(
                insert_for(self._db.dialect, _PROCESSED)
                .values([{"key": key, "at": now} for key in wanted])
                .on_conflict_do_nothing(index_elements=["key"])
            )
            await conn.execute(delete(_INBOX).where(_INBOX.c.key.in_(wanted)))

    async def renew(self, keys: Iterable[str], until: datetime) -> None:
        """Extend the lease of rows this worker is still handling."""
        wanted = sorted(set(keys))
        if not wanted:
            return
        async with self._db.transaction() as conn:
            for start in range(0, len(wanted), 500):
                await conn.execute(
                    update(_INBOX)
                    .where(_INBOX.c.key.in_(wanted[start : start + 500]))
                    .values(lease_until=until)
                )

    async def take(self, limit: int, now: datetime, lease: timedelta) -> list[Stored]:
        """Lease up to ``limit`` rows whose lease has run out, oldest first."""
        if limit <= 0:
            return []
        due = (
            select(_INBOX.c.key)
            .where(_INBOX.c.lease_until <= bindparam("now"))
            .order_by(_INBOX.c.received_at, _INBOX.c.key)
            .limit(limit)
        )
        if self._db.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        stmt = (
            update(_INBOX)
            .where(_INBOX.c.key.in_(due.scalar_subquery()))
            # checked again: on PostgreSQL a row another worker leased meanwhile is skipped
            .where(_INBOX.c.lease_until <= bindparam("now"))
            .values(lease_until=now + lease, attempts=_INBOX.c.attempts + 1)
            .returning(_INBOX.c.key, _INBOX.c.raw, _INBOX.c.received_at, _INBOX.c.calls)
        )
        probe = select(_INBOX.c.key).where(_INBOX.c.lease_until <= now).limit(1)
        async with self._db.reading() as conn:  # the common case, nothing due, writes nothing
            if (await conn.execute(probe)).first() is None:
                return []
        async with self._db.transaction() as conn:
            rows = list((await conn.execute(stmt, {"now": now})).all())
        rows.sort(key=lambda row: (row.received_at, row.key))
        return [Stored(row.key, row.raw, row.calls) for row in rows]

    async def note_calls(self, key: str, calls: str) -> None:
        """Record the platform calls started for ``key`` (before the newest goes out);
        inside the update's unit of work it commits with the update's own writes (on
        PostgreSQL riding on the unit's last statement: no round trip of its own)."""
        await self._db.write(_NOTE_CALLS, {"note_key": key, "note_calls": calls})

    async def release(self, keys: Iterable[str], now: datetime) -> None:
        """Give rows back at once (a clean shutdown): any worker may take them now."""
        await self.renew(keys, now)

    async def waiting(self) -> int:
        async with self._db.reading() as conn:
            return int((await conn.execute(select(func.count()).select_from(_INBOX))).scalar_one())

    async def prune_processed(self, before: datetime) -> int:
        """Forget handled keys older than ``before`` (``storage.dedupe_ttl``)."""
        async with self._db.transaction() as conn:
            result = await conn.execute(delete(_PROCESSED).where(_PROCESSED.c.at < before))
            return int(result.rowcount)
