"""What admins taught the knowledge base, kept in the database so it survives a reload,
a restart and a redeploy (``knowledge.learning`` merges it into the index)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select

from storage.database import Database
from storage.knowledge_tables import KbLearned

PARAPHRASE = "paraphrase"
ENTRY = "entry"


@dataclass(frozen=True, slots=True)
class LearnedRecord:
    id: int
    #: ``paraphrase`` (of ``source``) or ``entry`` (a new question with its ``answer``)
    kind: str
    source: str | None
    lang: str
    question: str
    answer: str | None
    handoff_id: int | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Lesson:
    """A paraphrase (``source`` set, no ``answer``) or a new entry (``answer`` set)."""

    lang: str
    question: str
    #: lower-cased, punctuation-free form (``knowledge.text.normalise``)
    normalized: str
    source: str | None = None
    answer: str | None = None
    handoff_id: int | None = None


class LearnedStore(Protocol):
    async def learn(
        self, lesson: Lesson, admin_id: str, at: datetime
    ) -> tuple[LearnedRecord, bool]:
        """Store ``lesson``; (the record, True) — or (the one already stored for the same
        entry and wording, False): the same lesson is never kept twice."""

    async def learned(self) -> list[LearnedRecord]:
        """Everything taught, oldest first."""


def _record(row: KbLearned) -> LearnedRecord:
    return LearnedRecord(
        id=row.id,
        kind=row.kind,
        source=row.source,
        lang=row.lang,
        question=row.question,
        answer=row.answer,
        handoff_id=row.handoff_id,
        created_by=row.created_by,
        created_at=row.created_at,
    )


class SqlLearnedStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def learn(
        self, lesson: Lesson, admin_id: str, at: datetime
    ) -> tuple[LearnedRecord, bool]:
        kind = PARAPHRASE if lesson.answer is None else ENTRY
        normalized = lesson.normalized[:255]
        same = select(KbLearned).where(KbLearned.kind == kind, KbLearned.normalized == normalized)
        if kind == PARAPHRASE:
            same = same.where(KbLearned.source == lesson.source)
        async with self._db.session() as session, session.begin():
            known = (await session.execute(same.limit(1))).scalar_one_or_none()
            if known is not None:
                return _record(known), False
            row = KbLearned(
                kind=kind,
                source=lesson.source,
                lang=lesson.lang,
                question=lesson.question,
                normalized=normalized,
                answer=lesson.answer,
                handoff_id=lesson.handoff_id,
                created_by=admin_id[:64],
                created_at=at,
            )
            session.add(row)
            await session.flush()
            return _record(row), True

    async def learned(self) -> list[LearnedRecord]:
        async with self._db.session() as session:
            rows = (await session.execute(select(KbLearned).order_by(KbLearned.id))).scalars()
            return [_record(row) for row in rows]
