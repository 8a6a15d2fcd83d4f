"""CAC, revenue, LTV (30/90/180 days and to date), LTV ÷ CAC and payback per source."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from insight.costs import CostModel
from insight.loop import flag, joined_in, members, orders, source_of
from insight.sql import DAY, offset, ratio
from insight.window import Window

LTV_HORIZONS = (30, 90, 180)


@dataclass(slots=True)
class SourceValue:
    source: str
    joined: int
    revenue: float
    cost: float | None
    cost_basis: str
    #: horizon days → (members old enough, revenue in their first N days)
    matured: dict[int, tuple[int, float]] = field(default_factory=dict)
    payback_days: int | None = None

    @property
    def cac(self) -> float | None:
        return ratio(self.cost, self.joined)

    @property
    def ltv(self) -> float | None:
        return ratio(self.revenue, self.joined)

    def ltv_within(self, days: int) -> float | None:
        count, revenue = self.matured.get(days, (0, 0.0))
        return ratio(revenue, count)

    @property
    def ltv_cac(self) -> float | None:
        return ratio(self.ltv, self.cac)


async def source_values(
    conn: AsyncConnection, window: Window, costs: dict[str, CostModel]
) -> list[SourceValue]:
    source = source_of().label("source")
    matured_cols = [
        func.sum(flag(members.c.joined_at <= window.end - timedelta(days=days))).label(f"m{days}")
        for days in LTV_HORIZONS
    ]
    joined_rows = await conn.execute(
        select(source, func.count().label("joined"), *matured_cols)
        .where(joined_in(window))
        .group_by(source)
    )
    values: dict[str, SourceValue] = {}
    for row in joined_rows:
        name = row.source
        model = costs.get(name, CostModel())
        values[name] = SourceValue(
            source=name,
            joined=int(row.joined),
            revenue=0.0,
            cost=model.cost(int(row.joined), window),
            cost_basis=model.describe(),
            matured={days: (int(getattr(row, f"m{days}") or 0), 0.0) for days in LTV_HORIZONS},
        )

    # one pass over the orders: revenue per source, day after joining, and which LTV
    # horizons the member is old enough for; everything else is summed from these rows
    bought = members.join(orders, orders.c.member_id == members.c.id)
    day = offset(orders.c.at, members.c.joined_at, DAY).label("day")
    matured = [
        flag(members.c.joined_at <= window.end - timedelta(days=days)).label(f"m{days}")
        for days in LTV_HORIZONS
    ]
    rows = await conn.execute(
        select(source, day, *matured, func.sum(orders.c.amount).label("revenue"))
        .select_from(bought)
        .where(joined_in(window), orders.c.at < window.end)
        .group_by(source, day, *matured)
        .order_by(source, day)
    )
    running: dict[str, float] = {}
    for row in rows:
        value = values[row.source]
        amount = float(row.revenue or 0)
        value.revenue += amount
        for days in LTV_HORIZONS:
            if getattr(row, f"m{days}") and int(row.day) < days:
                count, revenue = value.matured[days]
                value.matured[days] = (count, revenue + amount)
        running[row.source] = running.get(row.source, 0.0) + amount
        cac = value.cac
        if value.payback_days is None and cac is not None and value.joined:
            if running[row.source] / value.joined >= cac:
                value.payback_days = max(0, int(row.day))
    return sorted(values.values(), key=lambda v: (-v.joined, v.source))
