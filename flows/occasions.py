"""Birthday and holiday greetings: started once a day, delivered through the gate."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flows.engine import FlowEngine

BATCH = 1000


async def start_occasions(engine: FlowEngine, now: datetime) -> None:
    """Start today's greetings; timer keys (year in them) make each one happen once."""
    greetings = engine.config.greetings
    month_day = now.strftime("%m-%d")
    if greetings.birthday:
        ids = await engine.journeys.with_birthday(month_day)
        await _greet(engine, ids, "birthday", f"birthday-{now.year}", now)
    holiday = greetings.holidays.get(month_day)
    if holiday:
        after = 0
        while ids := await engine.services.members.reachable_ids(after, BATCH):
            await _greet(engine, ids, holiday, f"{holiday}-{now.year}", now)
            after = ids[-1]


async def _greet(
    engine: FlowEngine, ids: list[int], occasion: str, instance: str, now: datetime
) -> None:
    members = await engine.members(ids)
    payload = {"occasion": occasion}
    await engine.start_flows_many(
        "daily", [(members[i], payload, instance) for i in ids if i in members], now
    )
