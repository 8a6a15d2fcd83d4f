"""``insight:`` — metrics, report and dashboard (owned by the insight feature)."""

from __future__ import annotations

from pydantic import Field

from bot.config.section import Section


class SourceCost(Section):
    cost_per_member: float | None = Field(default=None, ge=0)
    spend: float | None = Field(default=None, ge=0)


class DashboardConfig(Section):
    enabled: bool = False
    listen: str = "127.0.0.1:8081"


class InsightConfig(Section):
    sources: dict[str, SourceCost] = Field(default_factory=dict)
    dashboard: DashboardConfig = DashboardConfig()
