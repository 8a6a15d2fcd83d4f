"""The day's batch of window-refused pushes, and the platform's per-member mass count.

A proactive message the platform's message window refuses may join the next
daily mass-send batch (``push_batched``); the per-member count of mass messages
(``mass_counts``) covers both these and broadcast mass sends (``push_outbox``),
since the platform caps what a member receives by mass, whatever sent it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from storage.database import Database
from storage.members import insert_for
from storage.push_tables import BatchedPush, PushOutbox

QUEUED = "queued"
#: in a task, waiting for staff to confirm it (like a broadcast's outbox rows)
WAITING = "waiting"
#: the reason of outbox rows and of batched messages that went by mass send
MASS = "mass"


@dataclass(frozen=True, slots=True)
class Batched:
    member_id: int
    key: str
    category: str
    priority: int
    seq: int
    text: str
    due_at: datetime
    expires_at: datetime | None
    state: str = QUEUED
    reason: str | None = None
    task: str | None = None
    #: when it last changed state (for a waiting one: when its task was made)
    updated_at: datetime | None = None


def _batched(row: BatchedPush) -> Batched:
    return Batched(
        row.member_id,
        row.key,
        row.category,
        row.priority,
        row.seq,
        row.text,
        row.due_at,
        row.expires_at,
        row.state,
        row.reason,
        row.task,
        row.updated_at,
    )


class BatchStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, member_id: int, key: str) -> Batched | None:
        async with self._db.session() as session:
            row = await session.get(BatchedPush, (member_id, key))
            return None if row is None else _batched(row)

    async def put(self, item: Batched, now: datetime) -> None:
        """Queue ``item`` (again: a message dropped from an earlier batch starts over)."""
        values = {
            "member_id": item.member_id,
            "key": item.key,
            "category": item.category,
            "priority": item.priority,
            "seq": item.seq,
            "text": item.text,
            "due_at": item.due_at,
            "expires_at": item.expires_at,
            "state": QUEUED,
            "reason": None,
            "task": None,
            "updated_at": now,
        }
        stmt = insert_for(self._db.dialect, BatchedPush).values(values)
        c = BatchedPush.__table__.c
        stmt = stmt.on_conflict_do_update(
            index_elements=[c.member_id, c.key],
            set_={k: v for k, v in values.items() if k not in ("member_id", "key")},
        )
        async with self._db.transaction() as conn:
            await conn.execute(stmt)

    async def due(self, now: datetime) -> list[Batched]:
        """Queued messages whose batch is due: by member, best first (then first come;
        then by key, so equal ones are always taken in the same order)."""
        stmt = (
            select(BatchedPush)
            .where(BatchedPush.state == QUEUED, BatchedPush.due_at <= now)
            .order_by(
                BatchedPush.member_id,
                BatchedPush.priority.desc(),
                BatchedPush.seq,
                BatchedPush.key,
            )
        )
        async with self._db.session() as session:
            return [_batched(row) for row in (await session.execute(stmt)).scalars()]

    async def waiting(self) -> list[Batched]:
        stmt = select(BatchedPush).where(BatchedPush.state == WAITING)
        async with self._db.session() as session:
            return [_batched(row) for row in (await session.execute(stmt)).scalars()]

    async def next_due(self) -> datetime | None:
        stmt = select(func.min(BatchedPush.due_at)).where(BatchedPush.state == QUEUED)
        async with self._db.session() as session:
            due: datetime | None = (await session.execute(stmt)).scalar_one_or_none()
            return due

    async def mark(
        self,
        member_id: int,
        key: str,
        state: str,
        reason: str | None,
        now: datetime,
        *,
        task: str | None = None,
        due_at: datetime | None = None,
    ) -> None:
        values: dict[str, object] = {"state": state, "reason": reason, "updated_at": now}
        if task is not None:
            values["task"] = task
        if due_at is not None:
            values["due_at"] = due_at
        stmt = (
            update(BatchedPush)
            .where(BatchedPush.member_id == member_id, BatchedPush.key == key)
            .values(**values)
        )
        async with self._db.transaction() as conn:
            await conn.execute(stmt)

    async def tally(self) -> Counter[tuple[str, str | None]]:
        """(state, reason) → messages, for the simulation's figures."""
        stmt = select(BatchedPush.state, BatchedPush.reason, func.count()).group_by(
            BatchedPush.state, BatchedPush.reason
        )
        async with self._db.session() as session:
            return Counter({(s, r): int(n) for s, r, n in await session.execute(stmt)})


async def mass_counts(
    db: Database, member_ids: Sequence[int], period: timedelta, now: datetime
) -> Counter[int]:
    """Mass messages each member got (or has in a task staff may still confirm) within
    ``period``: broadcasts' outbox rows and batched pushes alike."""
    if not member_ids:
        return Counter()
    since = now - period
    ids = list(member_ids)
    o = PushOutbox.__table__.c
    b = BatchedPush.__table__.c
    outbox = (
        select(o.member_id, func.count())
        .where(
            o.member_id.in_(ids),
            o.reason == MASS,
            o.state.in_(("sent", WAITING)),
            o.updated_at > since,
        )
        .group_by(o.member_id)
    )
    batched = (
        select(b.member_id, func.count())
        .where(b.member_id.in_(ids), b.state.in_(("sent", WAITING)), b.updated_at > since)
        .group_by(b.member_id)
    )
    counts: Counter[int] = Counter()
    async with db.session() as session:
        for stmt in (outbox, batched):
            for member_id, n in (await session.execute(stmt)).all():
                counts[int(member_id)] += int(n)
    return counts
