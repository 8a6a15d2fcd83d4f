"""The five-step loop as a funnel, per acquisition source and join week."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from insight.definitions import FUNNEL_STEPS
from insight.loop import (
    engaged,
    flag,
    joined_in,
    journeys,
    members,
    order_totals,
    referral_counts,
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
    """Counts of members at each step; one aggregate query, grouped in the database."""
    totals = order_totals(window)
    friends = referral_counts(window)
    source = source_of().label("source")
    week = bucket(members.c.joined_at, window.start, WEEK).label("week")
    keys = [source, week] if by_week else [source]
    stmt = (
        select(
            *keys,
            func.count().label("joined"),
            func.sum(flag(engaged())).label("engaged"),
            func.sum(flag(journeys.c.trust >= min_trust)).label("trusted"),
            func.sum(flag(journeys.c.first_offer_at < window.end)).label("offered"),
            func.sum(flag(totals.c.orders >= 1)).label("purchased"),
            func.sum(flag(totals.c.orders >= 2)).label("repurchased"),
            func.sum(flag(friends.c.friends >= 1)).label("referred"),
            func.sum(friends.c.friends).label("friends"),
            func.sum(flag(members.c.referrer_code.is_not(None)) * totals.c.revenue).label(
                "referred_revenue"
            ),
        )
        .select_from(
            members.outerjoin(journeys, journeys.c.member_id == members.c.id)
            .outerjoin(totals, totals.c.member_id == members.c.id)
            .outerjoin(friends, friends.c.code == journeys.c.referral_code)
        )
        .where(joined_in(window))
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
