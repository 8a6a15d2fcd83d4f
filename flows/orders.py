"""Orders, the points ledger, referral rewards and RFM tiers.

An order is stored once (a webhook redelivery with the same shop order id is
a no-op); a referred friend's first order pays both sides once, guaranteed by
the ledger's unique (member, reason, ref).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.config.flows import TiersConfig, TierThreshold
from storage.database import Database
from storage.flow_tables import Order, PointsEntry
from storage.members import insert_for


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


class OrderBook:
    def __init__(self, db: Database) -> None:
        self._db = db

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
        async with self._db.session() as session, session.begin():
            previous = int(
                (
                    await session.execute(
                        select(func.count(Order.id)).where(Order.member_id == member_id)
                    )
                ).scalar_one()
            )
            stmt = (
                insert_for(self._db.dialect, Order)
                .values(
                    member_id=member_id,
                    sku=sku,
                    amount=amount,
                    at=at,
                    source=source,
                    external_id=external_id,
                )
                .on_conflict_do_nothing(index_elements=[Order.external_id])
                .returning(Order.id)
            )
            order_id = (await session.execute(stmt)).scalar_one_or_none()
        if order_id is None:
            return None
        return OrderRecord(int(order_id), member_id, sku, amount, at, external_id, previous)

    async def rfm(self, member_id: int) -> Rfm:
        async with self._db.session() as session:
            row = (
                await session.execute(
                    select(func.count(Order.id), func.sum(Order.amount), func.max(Order.at)).where(
                        Order.member_id == member_id
                    )
                )
            ).one()
        last = row[2]
        if isinstance(last, str):  # SQLite returns aggregates untyped
            last = datetime.fromisoformat(last)
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        return Rfm(int(row[0]), float(row[1] or 0.0), last)

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
