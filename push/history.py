"""What the database knows the push gate did: the record a lost Redis is rebuilt from.

``push_decisions`` holds every delivered message (outcome ``sent``), ``push_pending``
the waiting line and ``push_switch`` the kill switch. Redis holds the same facts in
faster shapes; when it comes back empty they are read from here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from storage.database import Database
from storage.members import insert_for
from storage.push_tables import PushDecision, PushPending, PushSwitch

KILL_SWITCH = "paused"


@dataclass(frozen=True, slots=True)
class SentRow:
    member_id: int | None
    chat_key: str | None
    key: str
    category: str
    at: datetime


@dataclass(frozen=True, slots=True)
class WaitingRow:
    member_id: int
    key: str
    priority: int
    seq: int
    due_at: datetime


class PushHistory:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def sent_since(self, since: datetime, batch: int = 5000) -> AsyncIterator[SentRow]:
        """Every message delivered at or after ``since``, oldest first, read in pages."""
        last = 0
        while True:
            stmt = (
                select(
                    PushDecision.id,
                    PushDecision.member_id,
                    PushDecision.chat_key,
                    PushDecision.message_key,
                    PushDecision.category,
                    PushDecision.at,
                )
                .where(
                    PushDecision.id > last,
                    PushDecision.outcome == "sent",
                    PushDecision.at >= since,
                )
                .order_by(PushDecision.id)
                .limit(batch)
            )
            async with self._db.reading() as conn:
                rows = (await conn.execute(stmt)).all()
            for row in rows:
                yield SentRow(*row[1:])
            if len(rows) < batch:
                return
            last = rows[-1][0]

    async def waiting(self) -> list[WaitingRow]:
        stmt = select(
            PushPending.member_id,
            PushPending.key,
            PushPending.priority,
            PushPending.seq,
            PushPending.due_at,
        )
        async with self._db.reading() as conn:
            return [WaitingRow(*row) for row in (await conn.execute(stmt)).all()]

    async def paused(self) -> bool | None:
        """The kill switch as last set (None: never set)."""
        async with self._db.reading() as conn:
            value = (
                await conn.execute(select(PushSwitch.on).where(PushSwitch.name == KILL_SWITCH))
            ).scalar_one_or_none()
        return None if value is None else bool(value)

    async def set_paused(self, paused: bool, by: str | None) -> None:
        stmt = insert_for(self._db.dialect, PushSwitch).values(
            name=KILL_SWITCH, on=paused, changed_by=by, changed_at=datetime.now(UTC)
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[PushSwitch.name],
            set_={"on": paused, "changed_by": by, "changed_at": stmt.excluded.changed_at},
        )
        async with self._db.transaction() as conn:
            await conn.execute(stmt)
