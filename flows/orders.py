"""Orders, the points ledger, referral rewards and RFM tiers.

An order is stored once (a webhook redelivery with the same shop order id is
a no-op); a referred friend's first order pays both sides once, guaranteed by
the ledger's unique (member, reason, ref).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, select

from flows.config import TiersConfig, TierThreshold
from storage.amounts import counted_amount
from storage.database import Database
from storage.flow_tables import Order, PointsEntry
from storage.member_loop import sync_member_loop
from storage.members import insert_for
from storage.prepared import Prepared


@dataclass(frozen=True, slots=True)
class OrderRecord:
    id: int
    member_id: int
    sku: str
    amount: float
    at: datetime
    external_id: str | None
    #: how many orders the member had before this one
    previous_orders: int


@dataclass(frozen=True, slots=True)
class NewOrder:
    member_id: int
    sku: str
    amount: float
    at: datetime
    source: str
    #: the shop's order id: a redelivery with the same id is not stored again
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class Rfm:
    orders: int
    spent: float
    last_at: datetime | None


def tier_for(rfm: Rfm, now: datetime, tiers: TiersConfig) -> str:
    def meets(rule: TierThreshold) -> bool:
        return (
            rfm.last_at is not None
            and rfm.orders >= rule.min_orders
            and rfm.spent >= rule.min_spent
            and now - rfm.last_at <= rule.within
        )

    if meets(tiers.core):
        return "core"
    if meets(tiers.active):
        return "active"
    return "ordinary"


_ORDERS = Order.__table__.c
_COUNTS = Prepared(
    select(_ORDERS.member_id, func.count(_ORDERS.id))
    .where(_ORDERS.member_id.in_(bindparam("ids", expanding=True)))
    .group_by(_ORDERS.member_id)
)
_RFM = Prepared(
    select(
        _ORDERS.member_id,
        func.count(_ORDERS.id),
        func.sum(counted_amount(_ORDERS.amount)),
        func.max(_ORDERS.at),
    )
    .where(_ORDERS.member_id.in_(bindparam("ids", expanding=True)))
    .group_by(_ORDERS.member_id)
)


class OrderBook:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._insert = Prepared(
            insert_for(db.dialect, Order)
            .on_conflict_do_nothing(index_elements=[Order.external_id])
            .returning(Order.id)
        )

    async def record(
        self,
        member_id: int,
        sku: str,
        amount: float,
        at: datetime,
        source: str,
        external_id: str | None = None,
    ) -> OrderRecord | None:
        """Store the order; None when ``external_id`` was already stored."""
        return (
            await self.record_many([NewOrder(member_id, sku, amount, at, source, external_id)])
        )[0]

    async def record_many(self, orders: Sequence[NewOrder]) -> list[OrderRecord | None]:
        """Store orders in one transaction, in this order; None for each ``external_id``
        that was already stored."""
        if not orders:
            return []
        member_ids = sorted({order.member_id for order in orders})
        out: list[OrderRecord | None] = []
        async with self._db.transaction() as conn:
            found = await _COUNTS.all(conn, {"ids": member_ids})
            previous: dict[int, int] = {int(m): int(n) for m, n in found}
            for order in orders:
                values = {
                    "member_id": order.member_id,
                    "sku": order.sku,
                    "amount": order.amount,
                    "at": order.at,
                    "source": order.source,
                    "external_id": order.external_id,
                }
                inserted = await self._insert.scalars(conn, values)
                if not inserted:
                    out.append(None)
                    continue
                before = previous.get(order.member_id, 0)
                previous[order.member_id] = before + 1
                out.append(
                    OrderRecord(
                        int(inserted[0]),
                        order.member_id,
                        order.sku,
                        order.amount,
                        order.at,
                        order.external_id,
                        before,
                    )
                )
            stored = [record.member_id for record in out if record is not None]
            if stored:
                await sync_member_loop(conn, stored)
        return out

    async def rfm(self, member_id: int) -> Rfm:
        return (await self.rfm_many([member_id]))[member_id]

    async def rfm_many(self, member_ids: Sequence[int]) -> dict[int, Rfm]:
        """Orders, spend and last order per member (zero for a member without orders)."""
        ids = sorted(set(member_ids))
        out = {member_id: Rfm(0, 0.0, None) for member_id in ids}
        if not ids:
            return out
        async with self._db.reading() as conn:
            rows = await _RFM.all(conn, {"ids": ids})
        for member_id, count, spent, last in rows:
            if isinstance(last, str):  # SQLite returns aggregates untyped
                last = datetime.fromisoformat(last)
            if last is not None and last.tzinfo is None:
                last = last.replace(tzinfo=UTC)
            out[int(member_id)] = Rfm(int(count), float(spent or 0.0), last)
        return out

    async def award(self, member_id: int, delta: int, reason: str, ref: str, at: datetime) -> bool:
        """Add a ledger entry once per (member, reason, ref); True when it was new."""
        stmt = (
            insert_for(self._db.dialect, PointsEntry)
            .values(member_id=member_id, delta=delta, reason=reason, ref=ref, at=at)
            .on_conflict_do_nothing(
                index_elements=[PointsEntry.member_id, PointsEntry.reason, PointsEntry.ref]
            )
        )
        async with self._db.session() as session, session.begin():
            result = await session.execute(stmt)
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def balance(self, member_id: int) -> int:
        async with self._db.session() as session:
            stmt = select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
                PointsEntry.member_id == member_id
            )
            return int((await session.execute(stmt)).scalar_one())
