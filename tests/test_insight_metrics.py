"""Every figure on a hand-built history with answers worked out by hand, on
SQLite and PostgreSQL alike (see tests/insight_history.py for the story)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from insight_history import START, WINDOW, build_history
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.schema import with_feature_tables
from insight.config import InsightConfig
from insight.costs import cost_models
from insight.definitions import FIGURES, FUNNEL_STEPS, markdown_table
from insight.queries.activity import refresh_activity
from insight.queries.cohorts import cohorts, referrals, repurchase_by_product
from insight.queries.funnel import funnel, total
from insight.queries.members import SearchQuery, handoffs, member_detail, search_members
from insight.queries.money import source_values
from insight.queries.push_rollup import refresh_push
from insight.queries.respect import (
    gate_outcomes,
    optouts_after_campaigns,
    outbox_depth,
    weekly_load,
)
from insight.window import Window
from storage.database import Database
from storage.member_loop import catch_up_member_loop
from storage.segment_filter import parse

COSTS = InsightConfig.model_validate(
    {"sources": {"ads": {"cost_per_member": 10}, "group": {"spend": 120, "period": "30d"}}}
)


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[AsyncConnection]:
    db = with_feature_tables(Database(database_url))
    await db.migrate()
    await build_history(db.engine)
    async with db.engine.begin() as connection:
        await catch_up_member_loop(connection)
    try:
        async with db.engine.connect() as connection:
            yield connection
    finally:
        await db.close()


def _steps(*counts: int) -> dict[str, int]:
    return dict(zip(FUNNEL_STEPS, counts, strict=True))


async def test_funnel_per_source_and_week(conn: AsyncConnection) -> None:
    rows = await funnel(conn, WINDOW, min_trust=50)
    assert [(r.source, r.week, r.steps) for r in rows] == [
        ("ads", 0, _steps(2, 2, 1, 1, 1, 1, 1)),
        ("direct", 3, _steps(1, 1, 1, 1, 1, 1, 0)),
        ("group", 1, _steps(1, 0, 0, 0, 1, 0, 0)),
    ]
    overall = total(rows)
    assert overall.steps == _steps(4, 3, 2, 2, 3, 2, 1)
    assert overall.conversion("engaged") == 0.75
    # Chen bought without an offer: 3 buyers, 2 offered, but only 2 of the 2 offered bought
    assert overall.conversion("purchased") == 1.0
    assert all((r.conversion(s) or 0) <= 1 for r in [*rows, overall] for s in FUNNEL_STEPS)
    assert overall.conversion("joined") is None
    by_source = await funnel(conn, WINDOW, min_trust=50, by_week=False)
    assert [r.week for r in by_source] == [None, None, None]


async def test_cac_ltv_and_payback(conn: AsyncConnection) -> None:
    values = {
        v.source: v for v in await source_values(conn, WINDOW, await cost_models(conn, COSTS))
    }
    ads, group, direct = values["ads"], values["group"], values["direct"]
    assert (ads.joined, ads.cost, ads.cac, ads.revenue, ads.ltv) == (2, 20, 10, 160, 80)
    assert (ads.ltv_within(30), ads.ltv_within(90), ads.ltv_within(180)) == (50, 80, None)
    assert (ads.ltv_cac, ads.payback_days) == (8, 12)
    # 120 per 30 days, counted for the one day the source brought a member (Chen, day 8)
    assert (group.cost, group.cac, group.revenue, group.ltv_within(30)) == (4, 4, 30, 0)
    assert group.ltv_cac == pytest.approx(7.5)
    assert group.payback_days == 100  # Chen's order on day 108
    assert (direct.cost, direct.cac, direct.ltv_cac, direct.revenue) == (None, None, None, 60)
    assert (direct.ltv_within(30), direct.ltv_within(90)) == (40, 60)


async def test_cac_does_not_depend_on_days_without_data(conn: AsyncConnection) -> None:
    """Periods that hold the same members give the same CAC, however many empty days
    around them they also cover (spend used to be pro-rated over the whole period)."""
    models = await cost_models(conn, COSTS)
    found = []
    for before, after in ((20, 30), (200, 300), (20, 900)):
        window = Window(START - timedelta(days=before), WINDOW.end + timedelta(days=after))
        values = {v.source: v for v in await source_values(conn, window, models)}
        found.append((values["group"].joined, values["group"].cost, values["group"].cac))
    # Chen (day 8) and Eve (day 147): 140 days of 120 per 30 days
    assert found == [(2, 560, 280)] * 3


async def test_retention_cohorts(conn: AsyncConnection) -> None:
    assert await refresh_activity(conn) == 8
    assert await refresh_activity(conn) == 0  # nothing new
    found = {c.week: c for c in await cohorts(conn, WINDOW)}
    assert sorted(found) == [0, 1, 3]
    assert (found[0].size, found[0].still_reachable, found[0].active) == (2, 1, {0: 1, 1: 1})
    assert found[0].retention(1) == 0.5
    assert (found[1].size, found[1].active) == (1, {0: 1})  # Chen started the bot
    assert found[3].active == {0: 1}


async def test_repurchase_and_referrals(conn: AsyncConnection) -> None:
    cycles = {"tea": timedelta(days=30), "cup": timedelta(days=30), "gift": timedelta(0)}
    rates = {
        r.sku: (r.buyers, r.again, r.rate)
        for r in await repurchase_by_product(conn, WINDOW, cycles)
    }
    assert rates == {"cup": (1, 1, 1.0), "tea": (2, 1, 0.5)}
    refs = {r.source: r for r in await referrals(conn, WINDOW)}
    assert (refs["ads"].referrers, refs["ads"].friends, refs["ads"].k_factor) == (1, 1, 0.5)
    assert refs["ads"].referred_revenue == 0
    assert refs["group"].referred_revenue == 30
    assert refs["direct"].friends == 0  # Eve joined after the window


async def test_push_load_offers_share_and_gate(conn: AsyncConnection) -> None:
    await refresh_push(conn)
    await refresh_push(conn)  # nothing new: nothing changes
    load = await weekly_load(conn, WINDOW, cap=2)
    assert [
        ((w.start - START).days // 7, w.messages, w.offers, w.members, w.max_per_member, w.over_cap)
        for w in load
    ] == [
        (0, 5, 0, 2, 3, 1),
        (1, 2, 1, 1, 2, 0),
        (4, 1, 0, 1, 1, 0),
        (5, 1, 1, 1, 1, 0),
    ]
    assert load[0].per_member == 2.5
    assert load[1].offers_share == 0.5
    outcomes = {
        (g.category, g.outcome, g.reason): g.count for g in await gate_outcomes(conn, WINDOW)
    }
    assert outcomes == {
        ("value", "dropped", "cap_week"): 2,
        ("offer", "deferred", "quiet_hours"): 1,
        ("value", "sent", ""): 1,
    }
    campaigns = await optouts_after_campaigns(conn, WINDOW)
    assert [(c.campaign_id, c.recipients, c.opted_out, c.rate) for c in campaigns] == [
        ("c1", 2, 1, 0.5)
    ]
    assert await outbox_depth(conn) == 1


async def test_member_search_timeline_and_handoffs(conn: AsyncConnection) -> None:
    assert [h.name for h in await search_members(conn, SearchQuery(text="ali"))] == ["Alice"]
    for found, names in (
        ("tag:vip", ["Alice"]),
        ("tier:core", ["Dana"]),
        ("source:direct", ["Dana"]),
    ):
        assert [
            h.name for h in await search_members(conn, SearchQuery(filter=parse(found)))
        ] == names
    assert await search_members(conn, SearchQuery(text="%")) == []
    detail = await member_detail(conn, 1)
    assert detail is not None and detail.tags == ["vip"]
    assert (detail.orders, detail.revenue) == (2, 160)
    kinds = [e.kind for e in detail.timeline]
    assert kinds[0] == "order" and "push · offer" in kinds and "message" in kinds
    assert await member_detail(conn, 999) is None
    assert [(h.member, h.reason) for h in await handoffs(conn)] == [
        ("Chen", "unhappy after a purchase (tagged needs-care)"),
        ("Dana", "unhappy with delivery"),
    ]


def test_every_figure_is_defined_once_and_documented() -> None:
    from pathlib import Path

    assert set(FUNNEL_STEPS) <= set(FIGURES)
    table = markdown_table()
    assert all(f"`{key}`" in table for key in FIGURES)
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert table in readme, (
        "README's metric table is stale: paste insight.definitions.markdown_table()"
    )
