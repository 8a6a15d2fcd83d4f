"""When a soft offer may be made: every rule must hold, and the reasons it may not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from flows.config import FlowsConfig
from flows.state import JourneyState
from storage.records import MemberRecord


def offer_cooldown(state: JourneyState, config: FlowsConfig) -> timedelta:
    """The member's current gap between offers (doubled by each "not now")."""
    if state.offer_cooldown_s > 0:
        return timedelta(seconds=state.offer_cooldown_s)
    return config.offer.cooldown


def offer_blockers(
    member: MemberRecord, state: JourneyState, config: FlowsConfig, now: datetime
) -> Iterator[str]:
    """The rules that block an offer, none when it is allowed. Cheapest first, and
    lazily: every content slot asks, and most stop at the first."""
    rules = config.offer
    if member.opted_out:
        yield "opted_out"
    if state.value_since_offer < rules.value_per_offer:
        yield "value_ratio"
    if state.last_offer_at is not None and now < state.last_offer_at + offer_cooldown(
        state, config
    ):
        yield "cooldown"
    if now - member.joined_at < timedelta(days=rules.min_days):
        yield "too_new"
    if state.score(now, config.trust) < rules.min_trust:
        yield "trust"
