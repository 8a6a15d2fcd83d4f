"""Tables of the member journey: state per member, flow timers, orders, points, tags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base, IdType


class Journey(Base):
    """One row per member: where they are in the playbook and what built their trust."""

    __tablename__ = "journeys"
    __table_args__ = (Index("ix_journeys_next_value_at", "next_value_at"),)

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(32), default="greeting")
    trust: Mapped[float] = mapped_column(Float, default=0.0)
    started_at: Mapped[datetime]
    # trust signals: plain counters so that concurrent increments are atomic SQL
    messages: Mapped[int] = mapped_column(Integer, default=0)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    opened: Mapped[int] = mapped_column(Integer, default=0)
    buttons: Mapped[int] = mapped_column(Integer, default=0)
    purchases: Mapped[int] = mapped_column(Integer, default=0)
    declines: Mapped[int] = mapped_column(Integer, default=0)
    complaints: Mapped[int] = mapped_column(Integer, default=0)
    # what the bot has delivered
    seen: Mapped[list[str]] = mapped_column(JSON, default=list)
    values_sent: Mapped[int] = mapped_column(Integer, default=0)
    offers_sent: Mapped[int] = mapped_column(Integer, default=0)
    value_since_offer: Mapped[int] = mapped_column(Integer, default=0)
    #: a cadence message the gate deferred, resubmitted (same key) before anything new
    pending: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    next_value_at: Mapped[datetime | None]
    last_offer_at: Mapped[datetime | None]
    offer_cooldown_s: Mapped[int] = mapped_column(Integer, default=0)
    first_offer_at: Mapped[datetime | None]
    referral_code: Mapped[str] = mapped_column(String(16), unique=True)
    tier: Mapped[str] = mapped_column(String(16), default="ordinary")
    birthday: Mapped[str | None] = mapped_column(String(5))
    updated_at: Mapped[datetime]


class FlowTimer(Base):
    """A flow step due at ``due_at``; ``key`` makes scheduling idempotent and
    ``fired_at`` makes firing happen once, even with several workers."""

    __tablename__ = "flow_timers"
    __table_args__ = (Index("ix_flow_timers_pending", "fired", "due_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    flow: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime]
    fired: Mapped[bool] = mapped_column(Boolean, default=False)
    fired_at: Mapped[datetime | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_member_at", "member_id", "at"),
        # insight: orders placed in a period
        Index("ix_orders_at", "at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    #: the shop's order id; a webhook redelivery with the same id is stored once
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    sku: Mapped[str] = mapped_column(String(64))
    amount: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]


class PointsEntry(Base):
    """Append-only points ledger; (member, reason, ref) is unique so a reward is paid once."""

    __tablename__ = "points_ledger"
    __table_args__ = (UniqueConstraint("member_id", "reason", "ref", name="uq_points_ledger_once"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class MemberTag(Base):
    __tablename__ = "member_tags"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(48), primary_key=True, index=True)
    at: Mapped[datetime]
