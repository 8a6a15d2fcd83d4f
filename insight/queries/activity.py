"""The activity rollup behind retention: one bitmask per member.

Counting "members active in their N-th week" straight from ``interactions``
means reading every event of the period (seconds at millions of events).
Instead, :func:`refresh_activity` folds new interactions into
``insight_activity`` — bit N set when the member acted in week N after
joining — and retention reads one row per member.

Folding uses OR, so reading a row twice changes nothing: each refresh re-reads
the last :data:`OVERLAP` ids too, which catches rows whose transaction
committed after a higher id had already been folded in. Two workers refreshing
at once are equally harmless.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import BigInteger, Table, case, func, literal, select, text
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncConnection

from insight.loop import MEMBER_ACTIONS, interactions, members
from insight.sql import WEEK, offset
from storage.insight_tables import MemberActivity
from storage.members import insert_for
from storage.rollup_marks import advance_mark, read_mark

activity = cast(Table, MemberActivity.__table__)

MARK = "activity"
#: arbitrary constant naming the refresh lock on PostgreSQL
_LOCK_ID = 0x57494E53
#: ids re-read on every refresh (late commits); folding them again is harmless
OVERLAP = 10_000
#: interactions folded per statement
CHUNK = 250_000
#: weeks since joining that get a bit (a signed 64-bit integer holds 0…62)
MAX_WEEK = 62


async def refresh_activity(conn: AsyncConnection) -> int:
    """Fold interactions added since the last refresh; returns the ids read.

    Run it in a transaction that commits. On PostgreSQL one refresh runs at a
    time (an advisory lock); a caller that finds one running skips its own."""
    if conn.dialect.name == "postgresql" and not await conn.scalar(
        text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": _LOCK_ID}
    ):
        return 0
    newest = await conn.scalar(select(func.max(interactions.c.id)))
    if newest is None:
        return 0
    done, newest = await read_mark(conn, MARK), int(newest)
    if done >= newest:
        return 0  # nothing new; late commits below the mark are re-read next time
    start = max(0, done - OVERLAP)
    for low in range(start, newest, CHUNK):
        await _fold(conn, low, min(low + CHUNK, newest))
    await advance_mark(conn, MARK, newest)
    return newest - start


async def _fold(conn: AsyncConnection, after_id: int, up_to_id: int) -> None:
    n = offset(interactions.c.at, members.c.joined_at, WEEK)
    bit = literal(1, BigInteger).op("<<")(case((n > MAX_WEEK, MAX_WEEK), else_=n))
    fresh = (
        select(
            interactions.c.member_id,
            sql_cast(func.sum(func.distinct(bit)), BigInteger).label("weeks"),
        )
        .select_from(interactions.join(members, members.c.id == interactions.c.member_id))
        .where(
            interactions.c.id > after_id,
            interactions.c.id <= up_to_id,
            interactions.c.kind.in_(MEMBER_ACTIONS),
            interactions.c.at >= members.c.joined_at,
        )
        .group_by(interactions.c.member_id)
    )
    dialect = conn.dialect.name
    insert = insert_for(dialect, activity).from_select(["member_id", "weeks"], fresh)
    merged = activity.c.weeks.op("|")(insert.excluded.weeks)
    await conn.execute(
        insert.on_conflict_do_update(index_elements=["member_id"], set_={"weeks": merged})
    )
