"""Saved segments and the member queries behind segments: live counts, samples,
and the broadcast audience in id-ordered batches, all evaluated in the database."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    delete,
    func,
    literal,
    select,
    true,
    union_all,
    update,
)

from storage.database import Database
from storage.members import insert_for, to_record
from storage.records import MemberRecord
from storage.segment_filter import SegmentError, SegmentFilter, condition, parse
from storage.segment_tables import SavedSegment
from storage.tables import Member

NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,31}$")
#: ``all`` is built in; ``save`` and ``delete`` are /segment's own words
RESERVED = frozenset({"all", "save", "delete"})
MAX_SAVED = 100


@dataclass(frozen=True, slots=True)
class Saved:
    name: str
    filter: SegmentFilter
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Count:
    #: members the filter matches
    members: int
    #: of them, those a broadcast can reach (started the bot, not blocked)
    reachable: int


def clean_name(raw: str) -> str:
    """A segment name, lower-cased; :class:`SegmentError` when it cannot be one."""
    name = raw.strip().lower()
    if not NAME.match(name):
        raise SegmentError("bad_name", name=raw)
    if name in RESERVED:
        raise SegmentError("reserved_name", name=name)
    return name


def reachable() -> ColumnElement[bool]:
    """Who a broadcast is for: the same members as segment ``all``."""
    return and_(Member.reachable.is_(True), Member.started_bot.is_(True))


class SegmentStore:
    def __init__(self, db: Database, default_language: str = "en") -> None:
        self._db = db
        self._language = default_language

    def where(self, segment: SegmentFilter | None) -> ColumnElement[bool]:
        """The filter as SQL (``None``: every member)."""
        return true() if segment is None else condition(segment, self._language)

    async def saved(self) -> list[Saved]:
        stmt = select(SavedSegment).order_by(SavedSegment.name)
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).scalars()
            return [Saved(r.name, parse(r.filter), r.updated_at) for r in rows]

    async def get(self, name: str) -> Saved | None:
        async with self._db.session() as session:
            row = await session.get(SavedSegment, name.lower())
            return None if row is None else Saved(row.name, parse(row.filter), row.updated_at)

    async def save(self, name: str, segment: SegmentFilter, at: datetime) -> bool:
        """Store (or redefine) ``name``; True when it is new."""
        name = clean_name(name)
        text = str(segment)
        async with self._db.session() as session, session.begin():
            changed = await session.execute(
                update(SavedSegment)
                .where(SavedSegment.name == name)
                .values(filter=text, updated_at=at)
            )
            if changed.rowcount:  # type: ignore[attr-defined]
                return False
            count = await session.scalar(select(func.count()).select_from(SavedSegment))
            if (count or 0) >= MAX_SAVED:
                raise SegmentError("too_many_saved", max=MAX_SAVED)
            stmt = insert_for(self._db.dialect, SavedSegment).on_conflict_do_update(
                index_elements=[SavedSegment.name], set_={"filter": text, "updated_at": at}
            )
            await session.execute(stmt.values(name=name, filter=text, created_at=at, updated_at=at))
            return True

    async def delete(self, name: str) -> bool:
        async with self._db.session() as session, session.begin():
            result = await session.execute(
                delete(SavedSegment).where(SavedSegment.name == name.strip().lower())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def counts(self, segments: Sequence[SegmentFilter | None]) -> list[Count]:
        """Live counts of several segments in one round trip. Each is its own SELECT with
        the filter in WHERE, where the database can semi-join the tags and journeys (inside
        a CASE it would probe them once per member: 7x slower on PostgreSQL)."""
        if not segments:
            return []
        selects = [
            select(
                literal(n).label("n"),
                func.count().label("members"),
                func.coalesce(func.sum(case((reachable(), 1), else_=0)), 0).label("reachable"),
            )
            .select_from(Member)
            .where(self.where(segment))
            for n, segment in enumerate(segments)
        ]
        stmt = selects[0] if len(selects) == 1 else union_all(*selects)
        async with self._db.reading() as conn:
            rows = {r.n: Count(int(r.members), int(r.reachable)) for r in await conn.execute(stmt)}
        return [rows[n] for n in range(len(segments))]

    async def sample(self, segment: SegmentFilter | None, limit: int = 20) -> list[MemberRecord]:
        """The first members the filter matches, newest first (for an admin to recognise)."""
        stmt = (
            select(Member)
            .where(self.where(segment))
            .order_by(Member.joined_at.desc(), Member.id.desc())
            .limit(limit)
        )
        async with self._db.session() as session:
            return [to_record(row) for row in (await session.execute(stmt)).scalars()]

    async def reachable_ids(
        self, segment: SegmentFilter | None, after_id: int = 0, limit: int = 1000
    ) -> list[int]:
        """A batch of a broadcast's audience, in id order from ``after_id``."""
        stmt = (
            select(Member.id)
            .where(Member.id > after_id, reachable(), self.where(segment))
            .order_by(Member.id)
            .limit(limit)
        )
        async with self._db.reading() as conn:
            return list((await conn.execute(stmt)).scalars())
