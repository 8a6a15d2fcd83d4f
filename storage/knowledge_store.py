"""Handoffs and gaps: the contract the Q&A handler uses, and its SQL backend."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select, update

from storage.database import Database
from storage.knowledge_tables import KbGap, KbHandoff, KbLearned

#: seconds a worker trusts its list of members with open complaints; another worker's
#: new complaint holds this worker's promotions at most this much later
COMPLAINTS_FRESH_FOR = 5.0


@dataclass(frozen=True, slots=True)
class HandoffRecord:
    id: int
    member_id: int | None
    platform: str
    user_id: str
    member_name: str
    chat_id: str
    question: str
    lang: str
    confidence: float
    candidates: list[dict[str, Any]]
    status: str
    replier_id: str | None
    created_at: datetime
    complaint: bool = False
    #: the admin's answer, once closed
    reply: str | None = None


@dataclass(frozen=True, slots=True)
class NewHandoff:
    member_id: int | None
    platform: str
    user_id: str
    member_name: str
    chat_id: str
    question: str
    lang: str
    confidence: float
    candidates: list[dict[str, Any]]
    #: a complaint: the member's promotions wait until an admin closes it
    complaint: bool = False


class KnowledgeStore(Protocol):
    async def open_handoff(self, handoff: NewHandoff, at: datetime) -> HandoffRecord: ...

    async def start_reply(self, handoff_id: int, admin_id: str) -> HandoffRecord | None:
        """Put ``admin_id`` in "replying to #id" mode; None if closed or unknown."""

    async def pending_reply(self, admin_id: str) -> HandoffRecord | None: ...

    async def close(
        self, handoff_id: int, admin_id: str, reply: str, at: datetime
    ) -> HandoffRecord | None:
        """Close an open handoff; None if someone else closed it first."""

    async def open_handoffs(self, limit: int = 20) -> list[HandoffRecord]: ...

    async def handoff(self, handoff_id: int) -> HandoffRecord | None:
        """One handoff, open or closed; None if unknown."""

    async def has_open_complaint(self, member_id: int) -> bool:
        """Whether the member reported a problem that no admin has closed yet."""

    async def record_gap(
        self,
        member_id: int | None,
        question: str,
        normalized: str,
        lang: str,
        confidence: float,
        best_source: str | None,
        at: datetime,
    ) -> None: ...

    async def top_gaps(self, limit: int = 20) -> list[tuple[str, int]]:
        """Most frequent unanswered questions: (an example wording, count); a question
        an admin has since taught the bot is left out."""


def _record(row: KbHandoff) -> HandoffRecord:
    return HandoffRecord(
        id=row.id,
        member_id=row.member_id,
        platform=row.platform,
        user_id=row.user_id,
        member_name=row.member_name,
        chat_id=row.chat_id,
        question=row.question,
        lang=row.lang,
        confidence=row.confidence,
        candidates=list(row.candidates or []),
        status=row.status,
        replier_id=row.replier_id,
        created_at=row.created_at,
        complaint=bool(row.complaint),
        reply=row.reply,
    )


class SqlKnowledgeStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        #: members with an open complaint, as read at ``_complaints_read`` (monotonic):
        #: the gate asks for every promotional message, so one small read serves many
        self._complaints: set[int] = set()
        self._complaints_read = float("-inf")

    async def open_handoff(self, handoff: NewHandoff, at: datetime) -> HandoffRecord:
        row = KbHandoff(
            member_id=handoff.member_id,
            platform=handoff.platform,
            user_id=handoff.user_id,
            member_name=handoff.member_name[:256],
            chat_id=handoff.chat_id,
            question=handoff.question,
            lang=handoff.lang,
            confidence=handoff.confidence,
            candidates=handoff.candidates,
            complaint=handoff.complaint,
            status="open",
            created_at=at,
        )
        async with self._db.session() as session, session.begin():
            session.add(row)
            await session.flush()
            record = _record(row)
        if record.complaint and record.member_id is not None:
            self._complaints.add(record.member_id)
        return record

    async def start_reply(self, handoff_id: int, admin_id: str) -> HandoffRecord | None:
        async with self._db.session() as session, session.begin():
            await session.execute(
                update(KbHandoff)
                .where(KbHandoff.replier_id == admin_id, KbHandoff.id != handoff_id)
                .values(replier_id=None)
            )
            row = (
                await session.execute(
                    update(KbHandoff)
                    .where(KbHandoff.id == handoff_id, KbHandoff.status == "open")
                    .values(replier_id=admin_id)
                    .returning(KbHandoff)
                )
            ).scalar_one_or_none()
            return _record(row) if row is not None else None

    async def pending_reply(self, admin_id: str) -> HandoffRecord | None:
        stmt = (
            select(KbHandoff)
            .where(KbHandoff.replier_id == admin_id, KbHandoff.status == "open")
            .order_by(KbHandoff.id.desc())
            .limit(1)
        )
        async with self._db.session() as session:
            row = (await session.execute(stmt)).scalar_one_or_none()
            return _record(row) if row is not None else None

    async def close(
        self, handoff_id: int, admin_id: str, reply: str, at: datetime
    ) -> HandoffRecord | None:
        stmt = (
            update(KbHandoff)
            .where(KbHandoff.id == handoff_id, KbHandoff.status == "open")
            .values(status="closed", closed_at=at, closed_by=admin_id, reply=reply, replier_id=None)
            .returning(KbHandoff)
        )
        async with self._db.session() as session, session.begin():
            row = (await session.execute(stmt)).scalar_one_or_none()
            record = _record(row) if row is not None else None
        if record is not None and record.complaint:
            self._complaints_read = float("-inf")  # the member may have another one open
        return record

    async def open_handoffs(self, limit: int = 20) -> list[HandoffRecord]:
        stmt = (
            select(KbHandoff)
            .where(KbHandoff.status == "open")
            .order_by(KbHandoff.created_at, KbHandoff.id)
            .limit(limit)
        )
        async with self._db.session() as session:
            return [_record(row) for row in (await session.execute(stmt)).scalars()]

    async def handoff(self, handoff_id: int) -> HandoffRecord | None:
        async with self._db.session() as session:
            row = await session.get(KbHandoff, handoff_id)
            return _record(row) if row is not None else None

    async def has_open_complaint(self, member_id: int) -> bool:
        if time.monotonic() - self._complaints_read > COMPLAINTS_FRESH_FOR:
            stmt = select(KbHandoff.member_id).where(
                KbHandoff.complaint.is_(True),
                KbHandoff.status == "open",
                KbHandoff.member_id.is_not(None),
            )
            async with self._db.reading() as conn:
                rows = await conn.execute(stmt)
                self._complaints = {row[0] for row in rows if row[0] is not None}
            self._complaints_read = time.monotonic()
        return member_id in self._complaints

    async def record_gap(
        self,
        member_id: int | None,
        question: str,
        normalized: str,
        lang: str,
        confidence: float,
        best_source: str | None,
        at: datetime,
    ) -> None:
        async with self._db.session() as session, session.begin():
            session.add(
                KbGap(
                    member_id=member_id,
                    question=question,
                    normalized=normalized[:255],
                    lang=lang,
                    confidence=confidence,
                    best_source=best_source,
                    at=at,
                )
            )

    async def top_gaps(self, limit: int = 20) -> list[tuple[str, int]]:
        count = func.count(KbGap.id)
        stmt = (
            select(func.min(KbGap.question), count)
            .where(KbGap.normalized.not_in(select(KbLearned.normalized)))
            .group_by(KbGap.normalized)
            .order_by(count.desc(), func.max(KbGap.at).desc())
            .limit(limit)
        )
        async with self._db.session() as session:
            return [(str(q), int(n)) for q, n in (await session.execute(stmt)).all()]
