"""The five-step loop as a funnel, per acquisition source and join week."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

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
    #: members at each step who also reached the step before it (``step_conversion``)
    went_on: dict[str, int] = field(default_factory=dict)
    #: friends these members brought, and revenue of those among them who were referred
    friends: int = 0
    referred_revenue: float = 0.0

    def conversion(self, step: str) -> float | None:
        """Members at this step who reached the step before it ÷ members at the step
        before it (``step_conversion``): never above 100%, even for steps a member can
        reach without the one before (a purchase without an offer)."""
        before = step_before(step)
        if before is None:
            return None
        return ratio(self.went_on.get(step, 0), self.steps[before])


def step_before(step: str) -> str | None:
    """The step a step's conversion is measured from (referred: purchased, since the
    referral invite follows a purchase); None for the first."""
    index = FUNNEL_STEPS.index(step)
    if index == 0:
        return None
    return "purchased" if step == "referred" else FUNNEL_STEPS[index - 1]


def reached(min_trust: float, end: datetime) -> dict[str, ColumnElement[bool]]:
    """Each funnel step as a condition on a loop rollup row, as of ``end``
    (definitions in :mod:`insight.definitions`)."""
    m = member_loop.c
    offered = m.first_offer_at < end
    return {
        "joined": true(),
        "engaged": m.engaged.is_(True),
        # an offer is only sent to a member whose trust reached the bar, even if it fell since
        "trusted": or_(m.trust >= min_trust, offered),
        "offered": offered,
        "purchased": m.first_order_at < end,
        "repurchased": m.second_order_at < end,
        "referred": m.first_friend_at < end,
    }


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
    steps = reached(min_trust, end)
    counts = [func.sum(flag(steps[step])).label(step) for step in FUNNEL_STEPS[1:]]
    went_on = [
        func.sum(flag(and_(steps[step], steps[before]))).label(f"went_on_{step}")
        for step in FUNNEL_STEPS[1:]
        if (before := step_before(step)) is not None
    ]
    stmt = (
        select(
            *keys,
            func.count().label("joined"),
            *counts,
            *went_on,
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
                went_on={step: int(mapping[f"went_on_{step}"] or 0) for step in FUNNEL_STEPS[1:]},
                friends=int(mapping["friends"] or 0),
                referred_revenue=float(mapping["referred_revenue"] or 0),
            )
        )
    return rows


def total(rows: list[FunnelRow], source: str = "all") -> FunnelRow:
    """Sum rows (e.g. all weeks of a source, or all sources)."""
    summed = FunnelRow(
        source=source,
        week=None,
        steps=dict.fromkeys(FUNNEL_STEPS, 0),
        went_on=dict.fromkeys(FUNNEL_STEPS[1:], 0),
    )
    for row in rows:
        for step in FUNNEL_STEPS:
            summed.steps[step] += row.steps[step]
        for step in FUNNEL_STEPS[1:]:
            summed.went_on[step] += row.went_on.get(step, 0)
        summed.friends += row.friends
        summed.referred_revenue += row.referred_revenue
    return summed
