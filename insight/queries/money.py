"""CAC, revenue, LTV (30/90/180 days and to date), LTV ÷ CAC and payback per source."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from insight.costs import CostModel, active_days
from insight.loop import joined_in, member_loop, ordered_before_end, orders, source_of
from insight.sql import DAY, offset, ratio
from insight.window import Window
from storage.amounts import counted_amount

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


def _age(window: Window) -> ColumnElement[int]:
    """How many LTV horizons the member is old enough for (0…3): the horizons nest,
    so one small number groups by all of them at once."""
    return case(
        *(
            (member_loop.c.joined_at <= window.end - timedelta(days=days), len(LTV_HORIZONS) - i)
            for i, days in enumerate(reversed(LTV_HORIZONS))
        ),
        else_=0,
    )


def _old_enough(age: int, days: int) -> bool:
    return age > LTV_HORIZONS.index(days)


async def source_values(
    conn: AsyncConnection, window: Window, costs: dict[str, CostModel]
) -> list[SourceValue]:
    """Per source, from the loop rollup (caught up by the caller) and the orders."""
    m = member_loop.c
    source = source_of(member_loop).label("source")
    age = _age(window).label("age")
    joined_rows = await conn.execute(
        select(
            source,
            age,
            func.count().label("joined"),
            func.min(m.joined_at).label("first"),
            func.max(m.joined_at).label("last"),
        )
        .where(joined_in(window, member_loop))
        .group_by(source, age)
    )
    spans: dict[str, tuple[datetime, datetime]] = {}
    values: dict[str, SourceValue] = {}
    for row in joined_rows:
        name = row.source
        value = values.get(name)
        if value is None:
            value = values[name] = SourceValue(
                source=name,
                joined=0,
                revenue=0.0,
                cost=None,
                cost_basis="",
                matured=dict.fromkeys(LTV_HORIZONS, (0, 0.0)),
            )
        value.joined += int(row.joined)
        first, last = spans.get(name, (row.first, row.last))
        spans[name] = (min(first, row.first), max(last, row.last))
        for days in LTV_HORIZONS:
            if _old_enough(int(row.age), days):
                count, revenue = value.matured[days]
                value.matured[days] = (count + int(row.joined), revenue)
    for name, value in values.items():
        model = costs.get(name, CostModel())
        value.cost = model.cost(value.joined, active_days(*spans[name], window))
        value.cost_basis = model.describe()

    # one pass over the orders: revenue per source, day after joining, and member age
    # (the integer day and age lead the grouping: cheaper to sort than the source text);
    # everything else is summed from these rows. Buyers only: a smaller hash to join with
    bought = member_loop.join(orders, orders.c.member_id == m.member_id)
    day = offset(orders.c.at, m.joined_at, DAY).label("day")
    rows = await conn.execute(
        select(source, day, age, func.sum(counted_amount(orders.c.amount)).label("revenue"))
        .select_from(bought)
        .where(
            joined_in(window, member_loop),
            m.first_order_at.is_not(None),
            ordered_before_end(window),
        )
        .group_by(day, age, source)
        .order_by(source, day)
    )
    running: dict[str, float] = {}
    for row in rows:
        value = values[row.source]
        amount = float(row.revenue or 0)
        value.revenue += amount
        for days in LTV_HORIZONS:
            if _old_enough(int(row.age), days) and int(row.day) < days:
                count, revenue = value.matured[days]
                value.matured[days] = (count, revenue + amount)
        running[row.source] = running.get(row.source, 0.0) + amount
        cac = value.cac
        if value.payback_days is None and cac is not None and value.joined:
            if running[row.source] / value.joined >= cac:
                value.payback_days = max(0, int(row.day))
    return sorted(values.values(), key=lambda v: (-v.joined, v.source))
