"""What each acquisition source costs: config first, admin-set values win."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from insight.config import InsightConfig
from insight.window import Window
from storage.insight_tables import SourceCostOverride

overrides = cast(Table, SourceCostOverride.__table__)


@dataclass(frozen=True, slots=True)
class CostModel:
    cost_per_member: float | None = None
    spend: float | None = None
    period_days: float = 30.0
    origin: str = "config"

    def cost(self, joined: int, active_days: float) -> float | None:
        """The ``cost`` figure: per member × joined, or spend pro-rated to the days the
        source brought members in the period (:func:`active_days`)."""
        if self.cost_per_member is not None:
            return self.cost_per_member * joined
        if self.spend is not None:
            return self.spend * active_days / self.period_days
        return None

    def describe(self, currency: str = "") -> str:
        unit = f"{currency} " if currency else ""
        if self.cost_per_member is not None:
            return f"{unit}{self.cost_per_member:g} per member ({self.origin})"
        if self.spend is not None:
            return f"{unit}{self.spend:g} per {self.period_days:g} days ({self.origin})"
        return "not set"


def active_days(first: datetime | None, last: datetime | None, window: Window) -> float:
    """Whole UTC days from the day of a source's first member joined in the window to
    the end of the day of its last, within the window: the days its spend is counted
    for. A window that also covers days without data gives the same number."""
    if first is None or last is None:
        return 0.0
    start = max(window.start, datetime.combine(first.astimezone(UTC).date(), time(), tzinfo=UTC))
    day_after = datetime.combine(last.astimezone(UTC).date(), time(), tzinfo=UTC)
    end = min(window.end, day_after + timedelta(days=1))
    return max(0.0, (end - start).total_seconds() / 86400)


async def cost_models(conn: AsyncConnection, config: InsightConfig) -> dict[str, CostModel]:
    models = {
        name: CostModel(
            cost_per_member=item.cost_per_member,
            spend=item.spend,
            period_days=item.period.total_seconds() / 86400,
        )
        for name, item in config.sources.items()
    }
    for row in await conn.execute(select(overrides)):
        models[row.source] = CostModel(
            cost_per_member=row.cost_per_member,
            spend=row.spend,
            period_days=row.period_days,
            origin=f"set by {row.set_by}",
        )
    return models


async def set_cost(
    conn: AsyncConnection,
    source: str,
    *,
    cost_per_member: float | None,
    spend: float | None,
    period_days: float,
    by: str,
    at: datetime,
) -> None:
    """Replace the admin-set cost of one source (delete + insert: portable upsert)."""
    await conn.execute(overrides.delete().where(overrides.c.source == source))
    await conn.execute(
        overrides.insert().values(
            source=source,
            cost_per_member=cost_per_member,
            spend=spend,
            period_days=period_days,
            set_by=by,
            set_at=at,
        )
    )
