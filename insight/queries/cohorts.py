"""Retention by join week, repurchase by product cycle, referrals (K-factor)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import BigInteger, Integer, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from insight.loop import (
    flag,
    joined_in,
    member_loop,
    members,
    ordered_before_end,
    orders,
)
from insight.queries.activity import activity
from insight.queries.funnel import FunnelRow, funnel
from insight.sql import WEEK, bucket, ratio, within
from insight.window import Window


@dataclass(slots=True)
class Cohort:
    week: int
    size: int
    still_reachable: int
    #: weeks since joining → members active that week (and still reachable)
    active: dict[int, int] = field(default_factory=dict)

    def retention(self, n: int) -> float | None:
        return ratio(self.active.get(n, 0), self.size)


async def cohorts(conn: AsyncConnection, window: Window, weeks: int = 13) -> list[Cohort]:
    """Join-week cohorts and, for their first ``weeks`` weeks, who was active.

    Reads the activity rollup (see :mod:`insight.queries.activity`), which the
    caller refreshes; activity counts to date, the cohorts are the window's."""
    reachable = and_(members.c.reachable.is_(True), members.c.opted_out.is_(False))
    # members alike in join week, reachability and activity bits, counted: a few thousand
    # groups, so the bits are taken apart once per group rather than once per member
    week = bucket(members.c.joined_at, window.start, WEEK).label("week")
    is_reachable = flag(reachable).label("reachable")
    bits = case((reachable, func.coalesce(activity.c.weeks, 0)), else_=0).label("bits")
    alike = (
        select(week, is_reachable, bits, func.count().label("members"))
        .select_from(members.outerjoin(activity, activity.c.member_id == members.c.id))
        .where(joined_in(window))
        .group_by(week, is_reachable, bits)
        .subquery("alike")
    )
    g = alike.c
    one = literal(1, BigInteger)
    rows = await conn.execute(
        select(
            g.week,
            func.sum(g.members).label("size"),
            func.sum(g.reachable * g.members).label("reachable"),
            *[
                func.sum(g.bits.op(">>")(literal(n, Integer)).op("&")(one) * g.members).label(
                    f"w{n}"
                )
                for n in range(weeks)
            ],
        )
        .group_by(g.week)
        .order_by(g.week)
    )
    found = []
    for row in rows:
        cohort = Cohort(int(row.week), int(row.size), int(row.reachable or 0))
        for n in range(weeks):
            count = int(getattr(row, f"w{n}") or 0)
            if count:
                cohort.active[n] = count
        found.append(cohort)
    return found


@dataclass(frozen=True, slots=True)
class Repurchase:
    sku: str
    cycle_days: float
    buyers: int
    again: int

    @property
    def rate(self) -> float | None:
        return ratio(self.again, self.buyers)


async def repurchase_by_product(
    conn: AsyncConnection, window: Window, cycles: dict[str, timedelta]
) -> list[Repurchase]:
    """Per product with a cycle: buyers whose first order is one cycle old, and
    how many of them ordered it again within 1.5 cycles; one query for all products,
    over the loop rollup (caught up by the caller) and the orders."""
    timed = {sku: cycle for sku, cycle in sorted(cycles.items()) if cycle.total_seconds() > 0}
    if not timed:
        return []
    m = member_loop.c
    first = (
        select(orders.c.member_id, orders.c.sku, func.min(orders.c.at).label("first_at"))
        .select_from(orders.join(member_loop, m.member_id == orders.c.member_id))
        .where(
            orders.c.sku.in_(list(timed)),
            joined_in(window, member_loop),
            m.first_order_at.is_not(None),  # buyers only: a smaller hash to join with
            ordered_before_end(window),
        )
        .group_by(orders.c.member_id, orders.c.sku)
        .subquery("first_orders")
    )
    again = orders.alias("again")
    repeat = (
        select(func.count())
        .where(
            again.c.member_id == first.c.member_id,
            again.c.sku == first.c.sku,
            again.c.at > first.c.first_at,
            within(
                again.c.at,
                first.c.first_at,
                case(*((first.c.sku == sku, 1.5 * c.total_seconds()) for sku, c in timed.items())),
            ),
        )
        .scalar_subquery()
    )
    one_cycle_old = or_(
        *(and_(first.c.sku == sku, first.c.first_at <= window.end - c) for sku, c in timed.items())
    )
    rows = await conn.execute(
        select(first.c.sku, func.count().label("buyers"), func.sum(flag(repeat > 0)).label("again"))
        .where(one_cycle_old)
        .group_by(first.c.sku)
    )
    found = {row.sku: (int(row.buyers), int(row.again or 0)) for row in rows}
    return [
        Repurchase(sku, cycle.total_seconds() / 86400, *found.get(sku, (0, 0)))
        for sku, cycle in timed.items()
    ]


@dataclass(frozen=True, slots=True)
class Referrals:
    source: str
    members: int
    referrers: int
    friends: int
    referred_revenue: float

    @property
    def referral_rate(self) -> float | None:
        return ratio(self.referrers, self.members)

    @property
    def k_factor(self) -> float | None:
        return ratio(self.friends, self.members)


def referrals_of(rows: Sequence[FunnelRow]) -> list[Referrals]:
    """Referral figures per source, from the funnel rows (grouped by source)."""
    return [
        Referrals(r.source, r.steps["joined"], r.steps["referred"], r.friends, r.referred_revenue)
        for r in rows
    ]


async def referrals(conn: AsyncConnection, window: Window) -> list[Referrals]:
    return referrals_of(await funnel(conn, window, min_trust=0.0, by_week=False))
