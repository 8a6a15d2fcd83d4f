"""An order enters the journey: stored once, referral rewards, tier, after-sales."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flows.orders import NewOrder, OrderRecord, tier_for
from storage.records import MemberRecord

if TYPE_CHECKING:
    from flows.engine import FlowEngine

log = logging.getLogger("warmline.flows.orders")


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    order: OrderRecord
    tier: str
    referrer_id: int | None
    referral_rewarded: bool


@dataclass(frozen=True, slots=True)
class Purchase:
    """One order to place: who bought what, for how much, reported by whom."""

    member: MemberRecord
    sku: str
    amount: float
    source: str
    external_id: str | None = None


async def place_orders(
    engine: FlowEngine, purchases: Sequence[Purchase], at: datetime
) -> list[OrderOutcome | None]:
    """Store the orders and start after-sales, in batches (one list of answers, in
    order); None for a repeated shop order id.

    The order, the purchase count, the tier, referral points and the after-sales
    timers commit together or not at all, so an order that failed half-way is
    not stored and the shop's retry is processed (not called a duplicate). The
    steps due at once run after the commit: nothing is sent from inside it."""
    if not purchases:
        return []
    async with engine.db.atomic():
        orders, placed = await _store(engine, purchases, at)
        if not placed:
            return [None] * len(purchases)
        rewards = {order.id: await _reward_referral(engine, p.member, order) for p, order in placed}
        buyers = sorted({p.member.id for p, _ in placed})
        states = await engine.journeys.get_many(buyers)
        rfm = await engine.orders.rfm_many(buyers)
        for member_id, state in states.items():
            state.tier = tier_for(rfm[member_id], at, engine.config.tiers)
            state.stage = "customer"
        await engine.journeys.save(states.values(), ("tier", "stage"))
        starts: list[tuple[MemberRecord, dict[str, Any], str]] = []
        for p, order in placed:
            payload: dict[str, Any] = {"sku": p.sku, "amount": p.amount, "order_id": order.id}
            product = engine.config.products.get(p.sku)
            # the name kept in the timer is only a fallback: texts name the product
            # in the member's language when they are sent (flows.actions._vars)
            payload["product"] = product.name_in(engine.lang_of(p.member)) if product else p.sku
            starts.append((p.member, payload, f"o{order.id}"))
        new, at_once = engine.plan_starts("order", starts, at)
        if new:
            await engine.timers.schedule(new)
    try:
        await engine.run_started(new, at_once, starts, at)
    except Exception:
        # the order is stored with its timers; the scheduler's tick runs what is due
        log.exception("after-sales steps due now failed; the next tick runs them")
    outcomes = {
        order.id: OrderOutcome(order, states[p.member.id].tier, *rewards[order.id])
        for p, order in placed
    }
    return [outcomes[order.id] if order is not None else None for order in orders]


async def _store(
    engine: FlowEngine, purchases: Sequence[Purchase], at: datetime
) -> tuple[list[OrderRecord | None], list[tuple[Purchase, OrderRecord]]]:
    """Open missing journeys, store the orders, count the purchases."""
    ids = sorted({p.member.id for p in purchases})
    opened = await engine.journeys.get_many(ids)
    missing = [member_id for member_id in ids if member_id not in opened]
    if missing:
        await engine.journeys.open_many([(member_id, at, None) for member_id in missing])
    orders = await engine.orders.record_many(
        [NewOrder(p.member.id, p.sku, p.amount, at, p.source, p.external_id) for p in purchases]
    )
    placed = [(p, order) for p, order in zip(purchases, orders, strict=True) if order is not None]
    counts: dict[tuple[int, str], int] = {}
    for p, _ in placed:
        counts[(p.member.id, "purchases")] = counts.get((p.member.id, "purchases"), 0) + 1
    if counts:
        await engine.journeys.bump(counts, at)
    return orders, placed


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
