"""The figures each dashboard page (and the report) shows, gathered per page
so a page runs only its own queries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config.model import WarmlineConfig
from flows.config import flows_config
from insight.config import insight_config
from insight.costs import cost_models
from insight.loop import interactions, members, orders
from insight.queries.activity import refresh_activity
from insight.queries.cohorts import (
    Cohort,
    Referrals,
    Repurchase,
    cohorts,
    referrals_of,
    repurchase_by_product,
)
from insight.queries.funnel import FunnelRow, funnel
from insight.queries.members import HANDOFF_KINDS
from insight.queries.money import SourceValue, source_values
from insight.queries.push_rollup import NOT_PROACTIVE, refresh_push
from insight.queries.respect import (
    OPT_OUT_KIND,
    CampaignOptOuts,
    GateCount,
    WeekLoad,
    decisions,
    gate_outcomes,
    optouts_after_campaigns,
    weekly_load,
)
from insight.window import Window
from push.config import push_config
from storage.amounts import AMOUNT_LIMIT, counted_amount, uncounted_orders
from storage.member_loop import catch_up_member_loop

log = logging.getLogger("warmline.insight")


@dataclass(frozen=True, slots=True)
class Settings:
    """What the figures need from the config."""

    min_trust: float
    weekly_cap: int | None
    cycles: dict[str, timedelta]

    @classmethod
    def of(cls, config: WarmlineConfig) -> Settings:
        flows = flows_config(config)
        return cls(
            min_trust=flows.offer.min_trust,
            weekly_cap=push_config(config).caps.per_week,
            cycles={sku: p.cycle for sku, p in flows.products.items()},
        )


@dataclass(frozen=True, slots=True)
class Today:
    joined: int
    orders: int
    revenue: float
    proactive: int
    held_back: int
    opted_out: int
    handoffs: int


async def today(conn: AsyncConnection, now: datetime) -> Today:
    """Since midnight UTC, up to now."""
    start = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)

    async def count(stmt: object) -> int:
        return int(await conn.scalar(stmt) or 0)  # type: ignore[call-overload]

    bought = (
        await conn.execute(
            select(func.count(), func.coalesce(func.sum(counted_amount(orders.c.amount)), 0)).where(
                orders.c.at >= start, orders.c.at <= now
            )
        )
    ).one()
    return Today(
        joined=await count(
            select(func.count()).where(members.c.joined_at >= start, members.c.joined_at <= now)
        ),
        orders=int(bought[0]),
        revenue=float(bought[1]),
        proactive=await count(
            select(func.count()).where(
                decisions.c.at >= start,
                decisions.c.at <= now,
                decisions.c.outcome == "sent",
                decisions.c.category.not_in(NOT_PROACTIVE),
            )
        ),
        held_back=await count(
            select(func.count()).where(
                decisions.c.at >= start, decisions.c.at <= now, decisions.c.outcome != "sent"
            )
        ),
        opted_out=await count(
            select(func.count()).where(
                interactions.c.kind == OPT_OUT_KIND,
                interactions.c.at >= start,
                interactions.c.at <= now,
            )
        ),
        handoffs=await count(
            select(func.count()).where(
                interactions.c.kind.in_(HANDOFF_KINDS),
                interactions.c.at >= start,
                interactions.c.at <= now,
            )
        ),
    )


async def warn_uncounted(conn: AsyncConnection) -> None:
    """Say so when stored orders with absurd amounts are left out of the sums."""
    left_out = await uncounted_orders(conn)
    if left_out:
        log.warning(
            "%d orders with an amount beyond ±%g are left out of revenue figures "
            "(stored before amounts were bounded, or by hand): correct or delete them",
            left_out,
            AMOUNT_LIMIT,
        )


@dataclass(frozen=True, slots=True)
class Overview:
    funnel: list[FunnelRow]
    today: Today


async def overview(
    conn: AsyncConnection, window: Window, settings: Settings, now: datetime
) -> Overview:
    """Catches up the loop rollup first: call it inside ``engine.begin()``."""
    await catch_up_member_loop(conn)
    await warn_uncounted(conn)
    return Overview(
        await funnel(conn, window, settings.min_trust, by_week=False), await today(conn, now)
    )


@dataclass(frozen=True, slots=True)
class Sources:
    funnel: list[FunnelRow]
    values: list[SourceValue]
    referrals: list[Referrals]


async def sources(
    conn: AsyncConnection, window: Window, settings: Settings, config: WarmlineConfig
) -> Sources:
    """Catches up the loop rollup first: call it inside ``engine.begin()``."""
    await catch_up_member_loop(conn)
    await warn_uncounted(conn)
    rows = await funnel(conn, window, settings.min_trust, by_week=False)
    return Sources(
        rows,
        await source_values(conn, window, await cost_models(conn, insight_config(config))),
        referrals_of(rows),
    )


@dataclass(frozen=True, slots=True)
class Cohorts:
    cohorts: list[Cohort]
    repurchase: list[Repurchase]


async def cohort_page(conn: AsyncConnection, window: Window, settings: Settings) -> Cohorts:
    """Refreshes the activity and loop rollups first: call it inside ``engine.begin()``."""
    await refresh_activity(conn)
    await catch_up_member_loop(conn)
    return Cohorts(
        await cohorts(conn, window),
        await repurchase_by_product(conn, window, settings.cycles),
    )


@dataclass(frozen=True, slots=True)
class Respect:
    load: list[WeekLoad]
    gate: list[GateCount]
    campaigns: list[CampaignOptOuts]


async def respect(conn: AsyncConnection, window: Window, settings: Settings) -> Respect:
    """Refreshes the push rollups first: call it inside ``engine.begin()``."""
    await refresh_push(conn)
    return Respect(
        await weekly_load(conn, window, settings.weekly_cap),
        await gate_outcomes(conn, window),
        await optouts_after_campaigns(conn, window),
    )
