"""Figures for ``/stats``, read through small queries.

Tables of optional features (the journey's stages, the push gate's decisions)
are looked up in the metadata by name; when a feature is not installed its
figures are simply absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import MetaData, Table, func, select
from sqlalchemy.exc import SQLAlchemyError

from storage.database import Database
from storage.members import to_record
from storage.moderation_tables import ModerationAction
from storage.records import MemberRecord
from storage.tables import Member

JOURNEY_TABLE = "journeys"
DECISION_TABLE = "push_decisions"


@dataclass
class MemberCounts:
    total: int = 0
    new_today: int = 0
    new_week: int = 0
    started_bot: int = 0
    opted_out: int = 0


@dataclass
class Stats:
    members: MemberCounts = field(default_factory=MemberCounts)
    sources: list[tuple[str, int]] = field(default_factory=list)
    #: None: the flows feature is not installed
    stages: list[tuple[str, int]] | None = None
    #: (outcome, reason) → count, today and over 7 days; None: no push gate
    pushes_today: dict[tuple[str, str], int] | None = None
    pushes_week: dict[tuple[str, str], int] | None = None
    moderation_week: dict[str, int] = field(default_factory=dict)
    #: reason → the latest time a message deferred for it (over 7 days) waits until
    deferred_until: dict[str, datetime] = field(default_factory=dict)


async def member_counts(db: Database, today: datetime, week: datetime) -> MemberCounts:
    stmt = select(
        func.count(Member.id),
        func.count(Member.id).filter(Member.joined_at >= today),
        func.count(Member.id).filter(Member.joined_at >= week),
        func.count(Member.id).filter(Member.started_bot.is_(True)),
        func.count(Member.id).filter(Member.opted_out.is_(True)),
    ).where(Member.platform != "forgotten")
    async with db.session() as session:
        row = (await session.execute(stmt)).one()
    return MemberCounts(*(int(n) for n in row))


async def top_sources(db: Database, limit: int = 10) -> list[tuple[str, int]]:
    count = func.count(Member.id)
    stmt = (
        select(func.coalesce(Member.source, "-"), count)
        .where(Member.platform != "forgotten")
        .group_by(Member.source)
        .order_by(count.desc())
        .limit(limit)
    )
    async with db.session() as session:
        return [(str(s), int(n)) for s, n in (await session.execute(stmt)).all()]


async def journey_stages(db: Database, metadata: MetaData) -> list[tuple[str, int]] | None:
    table = metadata.tables.get(JOURNEY_TABLE)
    if table is None or "stage" not in table.c:
        return None
    stmt = select(table.c.stage, func.count()).group_by(table.c.stage).order_by(table.c.stage)
    try:
        async with db.session() as session:
            return [(str(s), int(n)) for s, n in (await session.execute(stmt)).all()]
    except SQLAlchemyError:
        return None


async def push_decisions(
    db: Database, metadata: MetaData, since: datetime
) -> dict[tuple[str, str], int] | None:
    table: Table | None = metadata.tables.get(DECISION_TABLE)
    if table is None or not {"outcome", "reason", "at"} <= set(table.c.keys()):
        return None
    reason = func.coalesce(table.c.reason, "")
    stmt = (
        select(table.c.outcome, reason, func.count())
        .where(table.c.at >= since)
        .group_by(table.c.outcome, reason)
    )
    try:
        async with db.session() as session:
            rows = (await session.execute(stmt)).all()
    except SQLAlchemyError:
        return None
    return {(str(o), str(r)): int(n) for o, r, n in rows}


async def deferred_until(db: Database, metadata: MetaData, since: datetime) -> dict[str, datetime]:
    """Until when deferred messages wait, per reason: "deferred" alone does not say
    whether a member hears from us in an hour or next week."""
    table: Table | None = metadata.tables.get(DECISION_TABLE)
    if table is None or "until" not in table.c:
        return {}
    stmt = (
        select(table.c.reason, func.max(table.c.until))
        .where(table.c.at >= since, table.c.outcome == "deferred", table.c.until.is_not(None))
        .group_by(table.c.reason)
    )
    try:
        async with db.session() as session:
            rows = (await session.execute(stmt)).all()
    except SQLAlchemyError:
        return {}
    return {str(reason): _aware(until) for reason, until in rows if reason and until}


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def moderation_actions(db: Database, since: datetime) -> dict[str, int]:
    count = func.count(ModerationAction.id)
    stmt = (
        select(ModerationAction.action, count)
        .where(ModerationAction.at >= since)
        .group_by(ModerationAction.action)
        .order_by(count.desc())
    )
    async with db.session() as session:
        return {str(a): int(n) for a, n in (await session.execute(stmt)).all()}


async def recent_members(
    db: Database, offset: int = 0, limit: int = 10
) -> tuple[list[MemberRecord], int]:
    """A page of members, newest first, and how many there are."""
    real = Member.platform != "forgotten"
    stmt = (
        select(Member)
        .where(real)
        .order_by(Member.joined_at.desc(), Member.id.desc())
        .offset(offset)
        .limit(limit)
    )
    async with db.session() as session:
        rows = [to_record(row) for row in (await session.execute(stmt)).scalars()]
        total = (await session.execute(select(func.count(Member.id)).where(real))).scalar_one()
    return rows, int(total)


class AdminReader:
    """What the admin commands read, bound to one database."""

    def __init__(self, db: Database, metadata: MetaData) -> None:
        self._db = db
        self._metadata = metadata

    async def stats(self, today: datetime, week: datetime) -> Stats:
        return Stats(
            members=await member_counts(self._db, today, week),
            sources=await top_sources(self._db),
            stages=await journey_stages(self._db, self._metadata),
            pushes_today=await push_decisions(self._db, self._metadata, today),
            pushes_week=await push_decisions(self._db, self._metadata, week),
            moderation_week=await moderation_actions(self._db, week),
            deferred_until=await deferred_until(self._db, self._metadata, week),
        )

    async def members_page(self, offset: int, limit: int) -> tuple[list[MemberRecord], int]:
        return await recent_members(self._db, offset, limit)
