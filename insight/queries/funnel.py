"""The five-step loop as a funnel, per acquisition source and join week."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from insight.definitions import FUNNEL_STEPS
from insight.loop import (
    flag,
    joined_in,
    late_friends,
    late_orders,
    member_loop,
    source_of,
)
from insight.sql import WEEK, bucket, ratio
from insight.window import Window


@dataclass(slots=True)
class FunnelRow:
    source: str
    week: int | None
    steps: dict[str, int] = field(default_factory=dict)
    #: friends these members brought, and revenue of those among them who were referred
    friends: int = 0
    referred_revenue: float = 0.0

    def conversion(self, step: str) -> float | None:
        """This step ÷ the step before it (``step_conversion``; referred ÷ purchased)."""
        index = FUNNEL_STEPS.index(step)
        if index == 0:
            return None
        before = "purchased" if step == "referred" else FUNNEL_STEPS[index - 1]
        return ratio(self.steps[step], self.steps[before])


async def funnel(
    conn: AsyncConnection, window: Window, min_trust: float, *, by_week: bool = True
) -> list[FunnelRow]:
    """Counts of members at each step: one scan of the loop rollup (caught up by the
    caller, see :func:`storage.member_loop.catch_up_member_loop`), grouped in the database.
    Orders and friends count up to the window's end."""
    m = member_loop.c
    late, later_friends = late_orders(window), late_friends(window)
    end = window.end
    revenue = case(
        (late.c.member_id.is_(None), m.revenue), else_=func.coalesce(late.c.revenue, 0.0)
    )
    source = source_of(member_loop).label("source")
    week = bucket(m.joined_at, window.start, WEEK).label("week")
    keys = [source, week] if by_week else [source]
    stmt = (
        select(
            *keys,
            func.count().label("joined"),
            func.sum(flag(m.engaged.is_(True))).label("engaged"),
            func.sum(flag(m.trust >= min_trust)).label("trusted"),
            func.sum(flag(m.first_offer_at < end)).label("offered"),
            func.sum(flag(m.first_order_at < end)).label("purchased"),
            func.sum(flag(m.second_order_at < end)).label("repurchased"),
            func.sum(flag(m.first_friend_at < end)).label("referred"),
            func.sum(m.friends - func.coalesce(later_friends.c.friends, 0)).label("friends"),
            func.sum(flag(m.referred.is_(True)) * revenue).label("referred_revenue"),
        )
        .select_from(
            member_loop.outerjoin(late, late.c.member_id == m.member_id).outerjoin(
                later_friends, later_friends.c.member_id == m.member_id
            )
        )
        .where(joined_in(window, member_loop))
        .group_by(*keys)
        .order_by(*keys)
    )
    rows = []
    for row in await conn.execute(stmt):
        mapping = row._mapping
        rows.append(
            FunnelRow(
                source=mapping["source"],
                week=int(mapping["week"]) if by_week else None,
                steps={step: int(mapping[step] or 0) for step in FUNNEL_STEPS},
                friends=int(mapping["friends"] or 0),
                referred_revenue=float(mapping["referred_revenue"] or 0),
            )
        )
    return rows


def total(rows: list[FunnelRow], source: str = "all") -> FunnelRow:
    """Sum rows (e.g. all weeks of a source, or all sources)."""
    summed = FunnelRow(source=source, week=None, steps=dict.fromkeys(FUNNEL_STEPS, 0))
    for row in rows:
        for step in FUNNEL_STEPS:
            summed.steps[step] += row.steps[step]
        summed.friends += row.friends
        summed.referred_revenue += row.referred_revenue
    return summed
