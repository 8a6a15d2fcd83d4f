"""Rollups behind the push figures, so the push page reads a few hundred rows.

``insight_push_weeks`` holds each member's proactive messages per calendar
week; ``insight_push_load`` turns them into a histogram per week (how many
members got exactly N), from which load, maximum and over-cap counts follow
for any cap; ``insight_gate_days`` counts gate decisions per day.

A refresh recomputes whole weeks (sends) and whole days (decisions) that saw
new rows, so it is exact and can run twice. New sends are found by time (the
table has no id): a history written into the past after a refresh is seen
only by :func:`rebuild_push`. New decisions are found by id.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Integer, Table, and_, delete, func, select, text, true
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncConnection

from insight.loop import flag
from insight.sql import DAY, WEEK, bucket, epoch
from storage.insight_tables import GateDay, PushLoad, PushWeek, RollupMark
from storage.push_tables import PushDecision, PushSend

push_weeks = cast(Table, PushWeek.__table__)
push_load = cast(Table, PushLoad.__table__)
gate_days = cast(Table, GateDay.__table__)
marks = cast(Table, RollupMark.__table__)
sends = cast(Table, PushSend.__table__)
decisions = cast(Table, PushDecision.__table__)

#: weeks start on Monday: week 0 is the one starting 1970-01-05
WEEK_ORIGIN = datetime(1970, 1, 5, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: categories that are not proactive (answers and service messages)
NOT_PROACTIVE = ("transactional", "reply")
SENDS_MARK, DECISIONS_MARK = "push_sends", "push_decisions"
#: sends this much older than the newest folded one are looked at again
SEND_OVERLAP = timedelta(hours=1)
DECISION_OVERLAP = 2_000
_LOCK_ID = 0x57505348


def week_of(moment: datetime) -> int:
    return int((moment - WEEK_ORIGIN).total_seconds() // WEEK)


def week_start(week: int) -> datetime:
    return WEEK_ORIGIN + timedelta(weeks=week)


def day_of(moment: datetime) -> int:
    return int((moment - EPOCH).total_seconds() // DAY)


async def refresh_push(conn: AsyncConnection) -> None:
    """Fold new sends and decisions in; run inside a transaction that commits."""
    if conn.dialect.name == "postgresql" and not await conn.scalar(
        text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": _LOCK_ID}
    ):
        return
    await _refresh_sends(conn, rebuild=False)
    await _refresh_decisions(conn)


async def rebuild_push(conn: AsyncConnection) -> None:
    await _refresh_sends(conn, rebuild=True)
    await _refresh_decisions(conn, rebuild=True)


async def _mark(conn: AsyncConnection, name: str) -> int | None:
    return cast(int | None, await conn.scalar(select(marks.c.last_id).where(marks.c.name == name)))


async def _set_mark(conn: AsyncConnection, name: str, value: int) -> None:
    await conn.execute(delete(marks).where(marks.c.name == name))
    await conn.execute(marks.insert().values(name=name, last_id=value))


async def _refresh_sends(conn: AsyncConnection, *, rebuild: bool) -> None:
    newest = await conn.scalar(select(func.max(sends.c.at)))
    if newest is None:
        return
    done = None if rebuild else await _mark(conn, SENDS_MARK)
    stamp = int(newest.timestamp())
    if done is not None and done >= stamp:
        return
    week = bucket(sends.c.at, WEEK_ORIGIN, WEEK)
    recent = sends.c.at >= EPOCH + timedelta(seconds=done) - SEND_OVERLAP if done else true()
    touched = [int(w) for w in await conn.scalars(select(week).where(recent).distinct())]
    for chunk in _chunks(touched):
        first = week_start(min(chunk))
        await conn.execute(delete(push_weeks).where(push_weeks.c.week.in_(chunk)))
        await conn.execute(
            push_weeks.insert().from_select(
                ["member_id", "week", "messages", "offers"],
                select(
                    sends.c.member_id,
                    week,
                    func.count(),
                    func.sum(flag(sends.c.category == "offer")),
                )
                .where(
                    sends.c.at >= first,
                    week.in_(chunk),
                    sends.c.category.not_in(NOT_PROACTIVE),
                )
                .group_by(sends.c.member_id, week),
            )
        )
        await conn.execute(delete(push_load).where(push_load.c.week.in_(chunk)))
        await conn.execute(
            push_load.insert().from_select(
                ["week", "messages", "members", "offers"],
                select(
                    push_weeks.c.week,
                    push_weeks.c.messages,
                    func.count(),
                    func.sum(push_weeks.c.offers),
                )
                .where(push_weeks.c.week.in_(chunk))
                .group_by(push_weeks.c.week, push_weeks.c.messages),
            )
        )
    await _set_mark(conn, SENDS_MARK, stamp)


async def _refresh_decisions(conn: AsyncConnection, *, rebuild: bool = False) -> None:
    newest = await conn.scalar(select(func.max(decisions.c.id)))
    if newest is None:
        return
    done = None if rebuild else await _mark(conn, DECISIONS_MARK)
    if done is not None and done >= newest:
        return
    day = sql_cast(func.floor(epoch(decisions.c.at) / DAY), Integer)
    recent = decisions.c.id > (done or 0) - DECISION_OVERLAP
    touched = [int(d) for d in await conn.scalars(select(day).where(recent).distinct())]
    reason = func.coalesce(decisions.c.reason, "")
    for chunk in _chunks(touched):
        first = EPOCH + timedelta(days=min(chunk))
        await conn.execute(delete(gate_days).where(gate_days.c.day.in_(chunk)))
        await conn.execute(
            gate_days.insert().from_select(
                ["day", "category", "outcome", "reason", "decisions"],
                select(day, decisions.c.category, decisions.c.outcome, reason, func.count())
                .where(and_(decisions.c.at >= first, day.in_(chunk)))
                .group_by(day, decisions.c.category, decisions.c.outcome, reason),
            )
        )
    await _set_mark(conn, DECISIONS_MARK, int(newest))


def _chunks(values: list[int], size: int = 500) -> list[list[int]]:
    ordered = sorted(values)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]
