"""An order enters the journey: stored once, referral rewards, tier, after-sales."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flows.orders import OrderRecord, tier_for
from storage.records import MemberRecord

if TYPE_CHECKING:
    from flows.engine import FlowEngine


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    order: OrderRecord
    tier: str
    referrer_id: int | None
    referral_rewarded: bool


async def place_order(
    engine: FlowEngine,
    member: MemberRecord,
    sku: str,
    amount: float,
    at: datetime,
    source: str,
    external_id: str | None = None,
) -> OrderOutcome | None:
    """Store the order and start after-sales; None for a repeated shop order id."""
    if await engine.journeys.get(member.id) is None:
        await engine.journeys.open_many([(member.id, at, None)])
    order = await engine.orders.record(member.id, sku, amount, at, source, external_id)
    if order is None:
        return None
    await engine.note(member.id, "purchases", at)
    referrer_id, rewarded = await _reward_referral(engine, member, order)
    state = await engine.journeys.get(member.id)
    assert state is not None
    state.tier = tier_for(await engine.orders.rfm(member.id), at, engine.config.tiers)
    state.stage = "customer"
    await engine.journeys.save([state], ("tier", "stage"))
    payload: dict[str, Any] = {"sku": sku, "amount": amount, "order_id": order.id}
    product = engine.config.products.get(sku)
    payload["product"] = product.name if product else sku
    await engine.start_flows("order", member, at, payload, instance=f"o{order.id}")
    return OrderOutcome(order, state.tier, referrer_id, rewarded)


async def _reward_referral(
    engine: FlowEngine, member: MemberRecord, order: OrderRecord
) -> tuple[int | None, bool]:
    if order.previous_orders or not member.referrer_code:
        return None, False
    referrer_id = await engine.journeys.by_code(member.referrer_code)
    if referrer_id is None or referrer_id == member.id:
        return None, False
    points = engine.config.points
    paid = await engine.orders.award(
        referrer_id, points.referrer, "referral", f"friend-{member.id}", order.at
    )
    if paid:
        await engine.orders.award(member.id, points.friend, "referred", "first-order", order.at)
    return referrer_id, paid
