"""``flows:`` — the trust-first member journey (owned by the flows feature)."""

from __future__ import annotations

from pydantic import Field

from bot.config.section import Section


class OfferConfig(Section):
    min_trust: float = 50.0
    min_days: int = Field(default=7, ge=0)
    value_per_offer: int = Field(default=4, ge=0)


class FlowsConfig(Section):
    offer: OfferConfig = OfferConfig()
