"""``push:`` — the gate every proactive message passes (owned by the push-gate feature)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from bot.config.duration import Duration
from bot.config.section import Section


class CapConfig(Section):
    per_day: int | None = Field(default=None, ge=0)
    per_week: int | None = Field(default=None, ge=0)


class PushConfig(Section):
    caps: CapConfig = CapConfig(per_day=2, per_week=6)
    min_gap: Duration = timedelta(hours=4)
    quiet_hours: str | None = "22:00-08:00"
    timezone: str = "Asia/Shanghai"
    categories: dict[str, CapConfig] = Field(default_factory=dict)
