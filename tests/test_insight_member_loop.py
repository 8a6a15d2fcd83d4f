"""The loop rollup behind the funnel follows every writer of its facts, on SQLite
and PostgreSQL, and the funnel stays exact for a period that ends before some
orders and friends (the rollup counts those to date)."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from typing import Any

from insight_history import START, build_history, day
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.events import UserRef
from flows.orders import OrderBook
from flows.state import JourneyStore
from insight.queries.funnel import funnel
from insight.window import Window
from storage.database import MIGRATIONS, Database
from storage.member_loop import catch_up_member_loop, loop, sync_member_loop
from storage.members import SqlMemberRepository
from storage.models import metadata
from storage.privacy import MemberData

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def _rows(conn: AsyncConnection) -> dict[int, dict[str, Any]]:
    found = await conn.execute(select(loop).order_by(loop.c.member_id))
    return {row.member_id: dict(row._mapping) for row in found}


async def _recomputed(db: Database) -> dict[int, dict[str, Any]]:
    """The rollup as recomputed from scratch, without touching the stored one."""
    async with db.engine.connect() as conn:
        ids = list(await conn.scalars(select(loop.c.member_id)))
        await conn.execute(delete(loop))
        await sync_member_loop(conn, ids)
        fresh = await _rows(conn)
        await conn.rollback()
    return fresh


async def test_writers_keep_the_rollup_current(db: Database) -> None:
    members, journeys, orders = SqlMemberRepository(db), JourneyStore(db), OrderBook(db)
    ann = await members.touch(UserRef("local", "ann", "Ann"), T0)
    ben = await members.touch(UserRef("local", "ben", "Ben"), T0 + timedelta(days=2))
    async with db.engine.begin() as conn:
        assert await catch_up_member_loop(conn) == 2  # touch itself writes no rollup row
        assert await catch_up_member_loop(conn) == 0
    await journeys.open_many([(ann.id, T0, None), (ben.id, T0, None)])
    ann_code = (await journeys.get(ann.id)).referral_code  # type: ignore[union-attr]
    await members.set_source_once(ann.id, "ads", None)
    await members.set_source_once(ben.id, "group", ann_code)
    await journeys.bump({(ann.id, "messages"): 2, (ben.id, "declines"): 1}, T0)
    state = await journeys.get(ann.id)
    assert state is not None
    state.trust, state.first_offer_at = 62.5, T0 + timedelta(days=3)
    await journeys.save([state], ("trust", "first_offer_at"))
    await orders.record(ann.id, "tea", 100.0, T0 + timedelta(days=4), "hook", "o1")
    await orders.record(ann.id, "tea", 40.0, T0 + timedelta(days=9), "hook", "o2")
    await orders.record(ann.id, "tea", 40.0, T0 + timedelta(days=9), "hook", "o2")  # redelivery
    await orders.record(ann.id, "cup", 25.0, T0 + timedelta(days=1), "hook", "o3")

    async with db.engine.connect() as conn:
        rows = await _rows(conn)
    a, b = rows[ann.id], rows[ben.id]
    assert (a["source"], a["referred"], a["engaged"], a["trust"]) == ("ads", False, True, 62.5)
    assert a["first_offer_at"] == T0 + timedelta(days=3)
    assert (a["first_order_at"], a["second_order_at"], a["revenue"]) == (
        T0 + timedelta(days=1),
        T0 + timedelta(days=4),
        165.0,
    )
    assert (a["friends"], a["first_friend_at"]) == (1, T0 + timedelta(days=2))
    assert (b["source"], b["referred"], b["engaged"], b["trust"]) == ("group", True, False, 0.0)
    assert (b["first_order_at"], b["revenue"], b["friends"]) == (None, 0.0, 0)
    assert rows == await _recomputed(db)

    # erasing the friend: one friend fewer; erasing the buyer: orders kept under the placeholder
    await MemberData(db, metadata).forget(ben)
    await MemberData(db, metadata).forget(ann)
    async with db.engine.connect() as conn:
        rows = await _rows(conn)
    [placeholder] = rows.values()
    assert (placeholder["revenue"], placeholder["friends"]) == (165.0, 0)
    assert rows == await _recomputed(db)


async def test_the_funnel_counts_orders_and_friends_up_to_the_end(db: Database) -> None:
    """The hand-built history, seen at day 40: Alice's second order (day 50), Dana's
    second and third (days 47, 62) and Chen's order (day 108) come later."""
    await build_history(db.engine)
    async with db.engine.begin() as conn:
        await catch_up_member_loop(conn)
        rows = await funnel(conn, Window(START, day(40)), min_trust=50, by_week=False)
    found = {r.source: (r.steps["purchased"], r.steps["repurchased"], r.friends) for r in rows}
    assert found == {"ads": (1, 0, 1), "direct": (1, 0, 0), "group": (0, 0, 0)}
    referred = {r.source: (r.steps["referred"], r.referred_revenue) for r in rows}
    assert referred == {"ads": (1, 0.0), "direct": (0, 0.0), "group": (0, 0.0)}
    # Eve (day 147, Dana's code) counts once the period reaches her
    later = Window(START, START + timedelta(days=200))
    async with db.engine.connect() as conn:
        rows = await funnel(conn, later, min_trust=50, by_week=False)
    by_source = {r.source: (r.steps["joined"], r.friends, r.referred_revenue) for r in rows}
    assert by_source == {"ads": (2, 1, 0.0), "direct": (1, 1, 0.0), "group": (2, 0, 30.0)}


async def test_the_migration_fills_the_rollup_from_the_history(db: Database) -> None:
    """Revision 0008's backfill (its own SQL, frozen with it) agrees with the recompute."""
    spec = importlib.util.spec_from_file_location(
        "member_loop_revision", MIGRATIONS / "versions" / "0008_member_loop.py"
    )
    assert spec is not None and spec.loader is not None
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    await build_history(db.engine)
    async with db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM insight_rollup_marks"))
        await conn.execute(text(revision.BACKFILL))
        await conn.execute(text(revision.MARK))
        assert await catch_up_member_loop(conn) == 0  # the mark says: all there
    async with db.engine.connect() as conn:
        rows = await _rows(conn)
    assert len(rows) == 6
    assert rows == await _recomputed(db)
