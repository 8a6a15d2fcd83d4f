"""Repositories of the push gate: waiting messages, the decision log, campaigns and outbox."""

from __future__ import annotations

from collections import Counter, namedtuple
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update

from bot.events import Button
from storage.bulk import Bulk
from storage.database import Database
from storage.members import insert_for, to_record
from storage.prepared import Prepared
from storage.push_tables import PushCampaign, PushDecision, PushOutbox, PushPending
from storage.records import MemberRecord
from storage.tables import Member


@dataclass(frozen=True, slots=True)
class PendingMessage:
    member_id: int
    key: str
    category: str
    priority: int
    seq: int
    due_at: datetime
    expires_at: datetime | None
    text: str
    buttons: tuple[tuple[Button, ...], ...]
    campaign_id: str | None


@dataclass(frozen=True, slots=True)
class DecisionRow:
    at: datetime
    member_id: int | None
    chat_key: str | None
    message_key: str
    campaign_id: str | None
    category: str
    priority: int
    outcome: str
    reason: str | None
    until: datetime | None
    #: what the message said (its start), for the push log and the member's timeline
    text: str | None = None


#: how much of a message's text the decision log keeps
DECISION_TEXT = 200


@dataclass(frozen=True, slots=True)
class CampaignRow:
    id: str
    segment: str
    text: str
    category: str
    priority: int
    status: str
    materialised: bool
    created_by: str | None
    notify_chat: str | None
    created_at: datetime
    #: the segment's filter at the preview (None: a built-in segment, read by name)
    audience: str | None = None


def buttons_to_json(buttons: tuple[tuple[Button, ...], ...]) -> list[Any]:
    return [[{"text": b.text, "data": b.data, "url": b.url} for b in row] for row in buttons]


def buttons_from_json(rows: list[Any]) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(Button(b["text"], b.get("data"), b.get("url")) for b in row) for row in rows)


def _pending(row: Any) -> PendingMessage:
    """A ``push_pending`` row (ORM object or plain row) as the gate's message."""
    return PendingMessage(
        row.member_id,
        row.key,
        row.category,
        row.priority,
        row.seq,
        row.due_at,
        row.expires_at,
        row.text,
        buttons_from_json(row.buttons or []),
        row.campaign_id,
    )


#: every due message, unordered: an ORDER BY member_id steers SQLite to read the whole
#: table in primary-key order instead of searching ``ix_push_pending_due_at``
#: (:meth:`PendingStore.due_all` sorts what is due, usually a small part)
DUE_ALL = select(*PushPending.__table__.columns).where(PushPending.due_at <= bindparam("now"))
_DUE_ALL = Prepared(DUE_ALL)
#: a row of ``DUE_ALL`` by column name, whichever path read it
_DueRow = namedtuple("_DueRow", [column.key for column in DUE_ALL.selected_columns])  # type: ignore[misc]


def _arbitration(message: PendingMessage) -> tuple[int, int, int]:
    """By member, then priority (highest first), then first come."""
    return message.member_id, -message.priority, message.seq


class PendingStore:
    """Deferred messages and their payloads, until delivered or dropped."""

    def __init__(self, db: Database) -> None:
        self._db = db
        insert = insert_for(db.dialect, PushPending)
        #: built once: a deferral is frequent, and building the statement costs more than running it
        self._put = insert.on_conflict_do_update(
            index_elements=[PushPending.member_id, PushPending.key],
            set_={"due_at": insert.excluded.due_at},
        )
        self._remove = delete(PushPending).where(
            PushPending.member_id == bindparam("member_id"), PushPending.key == bindparam("key")
        )

    async def put(self, message: PendingMessage) -> None:
        values = {
            "member_id": message.member_id,
            "key": message.key,
            "category": message.category,
            "priority": message.priority,
            "seq": message.seq,
            "due_at": message.due_at,
            "expires_at": message.expires_at,
            "text": message.text,
            "buttons": buttons_to_json(message.buttons),
            "campaign_id": message.campaign_id,
        }
        async with self._db.transaction() as conn:
            await conn.execute(self._put, values)

    async def due(self, member_id: int, now: datetime) -> list[PendingMessage]:
        """Due messages of one member, in arbitration order: priority, then first come."""
        stmt = (
            select(PushPending)
            .where(PushPending.member_id == member_id, PushPending.due_at <= now)
            .order_by(PushPending.priority.desc(), PushPending.seq)
        )
        async with self._db.session() as session:
            return [_pending(row) for row in (await session.execute(stmt)).scalars()]

    async def due_all(self, now: datetime) -> list[PendingMessage]:
        """Every member's due messages: by member, then in arbitration order."""
        async with self._db.reading() as conn:
            rows = await _DUE_ALL.all(conn, {"now": now})
        return sorted((_pending(_DueRow(*row)) for row in rows), key=_arbitration)

    async def remove(self, member_id: int, key: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(self._remove, {"member_id": member_id, "key": key})

    async def advance(self, before: datetime, to: datetime) -> int:
        """Make every message due by ``before`` due at ``to`` (the kill switch lifted)."""
        async with self._db.session() as session, session.begin():
            result = await session.execute(
                update(PushPending).where(PushPending.due_at <= before).values(due_at=to)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def next_due(self) -> list[tuple[int, datetime]]:
        """Each waiting member with their earliest due time (start-up recovery)."""
        stmt = select(PushPending.member_id, func.min(PushPending.due_at)).group_by(
            PushPending.member_id
        )
        async with self._db.session() as session:
            return [(int(m), due) for m, due in await session.execute(stmt)]

    async def count(self) -> int:
        async with self._db.session() as session:
            return int(
                (await session.execute(select(func.count()).select_from(PushPending))).scalar_one()
            )


#: ``push_decisions``' columns, named and ordered as :class:`DecisionRow`'s fields
_DECISION_FIELDS = tuple(f.name for f in fields(DecisionRow))
_WRITE_DECISIONS = Bulk(insert(PushDecision), _DECISION_FIELDS)
_RECENT = select(*(PushDecision.__table__.c[name] for name in _DECISION_FIELDS)).order_by(
    PushDecision.id.desc()
)


class DecisionLog:
    """The ``push_decisions`` table: written in batches, read by /stats and the CLI."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def write(self, rows: Sequence[DecisionRow]) -> None:
        if not rows:
            return
        # one executemany of plain tuples: ORM objects would cost an INSERT (and a
        # round trip) per decision, and nothing needs their ids back
        values = [
            (
                r.at,
                r.member_id,
                r.chat_key,
                r.message_key[:160],
                r.campaign_id,
                r.category,
                r.priority,
                r.outcome,
                r.reason,
                r.until,
                r.text[:DECISION_TEXT] if r.text is not None else None,
            )
            for r in rows
        ]
        async with self._db.transaction() as conn:
            await _WRITE_DECISIONS.run(conn, values)

    async def recent(self, limit: int = 20, member_id: int | None = None) -> list[DecisionRow]:
        stmt = _RECENT.limit(limit)
        if member_id is not None:
            stmt = stmt.where(PushDecision.member_id == member_id)
        async with self._db.reading() as conn:
            return [DecisionRow(*row) for row in (await conn.execute(stmt)).all()]

    async def counts(self, since: datetime) -> Counter[tuple[str, str | None]]:
        """(outcome, reason) → number of decisions since ``since``."""
        stmt = (
            select(PushDecision.outcome, PushDecision.reason, func.count())
            .where(PushDecision.at >= since)
            .group_by(PushDecision.outcome, PushDecision.reason)
        )
        async with self._db.session() as session:
            return Counter({(o, r): int(n) for o, r, n in await session.execute(stmt)})


class CampaignStore:
    """Campaigns and their outbox: each (campaign, member) is attempted at most once."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, row: CampaignRow) -> None:
        async with self._db.session() as session, session.begin():
            session.add(
                PushCampaign(
                    id=row.id,
                    segment=row.segment,
                    text=row.text,
                    category=row.category,
                    priority=row.priority,
                    status=row.status,
                    materialised=row.materialised,
                    created_by=row.created_by,
                    notify_chat=row.notify_chat,
                    created_at=row.created_at,
                    finished_at=None,
                    audience=row.audience,
                )
            )

    async def get(self, campaign_id: str) -> CampaignRow | None:
        async with self._db.session() as session:
            row = await session.get(PushCampaign, campaign_id)
            if row is None:
                return None
            return CampaignRow(
                row.id,
                row.segment,
                row.text,
                row.category,
                row.priority,
                row.status,
                row.materialised,
                row.created_by,
                row.notify_chat,
                row.created_at,
                row.audience,
            )

    async def set_status(
        self,
        campaign_id: str,
        status: str,
        *,
        expect: str | None = None,
        at: datetime | None = None,
    ) -> bool:
        """Move to ``status`` (only from ``expect`` when given); False if it was not there."""
        stmt = update(PushCampaign).where(PushCampaign.id == campaign_id)
        if expect is not None:
            stmt = stmt.where(PushCampaign.status == expect)
        values: dict[str, Any] = {"status": status}
        if status == "done":
            values["finished_at"] = at
        async with self._db.session() as session, session.begin():
            result = await session.execute(stmt.values(**values))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def running(self) -> list[str]:
        stmt = select(PushCampaign.id).where(PushCampaign.status == "running")
        async with self._db.session() as session:
            return list((await session.execute(stmt)).scalars())

    async def enqueue(self, campaign_id: str, member_ids: Sequence[int]) -> None:
        """Add members to the outbox; members already there are left as they are."""
        if not member_ids:
            return
        stmt = (
            insert_for(self._db.dialect, PushOutbox)
            .values(
                [
                    {"campaign_id": campaign_id, "member_id": m, "state": "pending"}
                    for m in member_ids
                ]
            )
            .on_conflict_do_nothing(index_elements=[PushOutbox.campaign_id, PushOutbox.member_id])
        )
        async with self._db.session() as session, session.begin():
            await session.execute(stmt)

    async def mark_materialised(self, campaign_id: str) -> None:
        async with self._db.session() as session, session.begin():
            await session.execute(
                update(PushCampaign).where(PushCampaign.id == campaign_id).values(materialised=True)
            )

    async def pending(self, campaign_id: str, after: int = 0, limit: int = 500) -> list[int]:
        stmt = (
            select(PushOutbox.member_id)
            .where(
                PushOutbox.campaign_id == campaign_id,
                PushOutbox.state == "pending",
                PushOutbox.member_id > after,
            )
            .order_by(PushOutbox.member_id)
            .limit(limit)
        )
        async with self._db.session() as session:
            return list((await session.execute(stmt)).scalars())

    async def mark(
        self, campaign_id: str, member_id: int, state: str, reason: str | None, at: datetime
    ) -> None:
        async with self._db.session() as session, session.begin():
            await session.execute(
                update(PushOutbox)
                .where(PushOutbox.campaign_id == campaign_id, PushOutbox.member_id == member_id)
                .values(state=state, reason=reason, updated_at=at)
            )

    async def tally(self, campaign_id: str) -> Counter[tuple[str, str | None]]:
        """(state, reason) → members, for progress and the final summary."""
        stmt = (
            select(PushOutbox.state, PushOutbox.reason, func.count())
            .where(PushOutbox.campaign_id == campaign_id)
            .group_by(PushOutbox.state, PushOutbox.reason)
        )
        async with self._db.session() as session:
            return Counter({(s, r): int(n) for s, r, n in await session.execute(stmt)})

    async def waiting_until(self, campaign_id: str) -> dict[str | None, tuple[datetime, datetime]]:
        """reason → the earliest and latest time its deferred members' messages come due
        (from the waiting line), for progress and the final summary."""
        due = PushPending.due_at
        stmt = (
            select(PushOutbox.reason, func.min(due), func.max(due))
            .join(
                PushPending,
                (PushPending.campaign_id == PushOutbox.campaign_id)
                & (PushPending.member_id == PushOutbox.member_id),
            )
            .where(PushOutbox.campaign_id == campaign_id, PushOutbox.state == "deferred")
            .group_by(PushOutbox.reason)
        )
        async with self._db.session() as session:
            return {reason: (first, last) for reason, first, last in await session.execute(stmt)}


async def members_by_ids(db: Database, ids: Sequence[int]) -> list[MemberRecord]:
    """Load many members in one query (fan-out and previews), in id order."""
    if not ids:
        return []
    stmt = select(Member).where(Member.id.in_(list(ids))).order_by(Member.id)
    async with db.session() as session:
        return [to_record(row) for row in (await session.execute(stmt)).scalars()]
