"""Tables owned by the insight feature: dashboard sessions, one-time login
links, acquisition costs set by admins, the activity rollup behind the
retention cohorts and the per-member loop rollup behind the funnel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base, IdType


class DashboardSession(Base):
    """A signed-in admin. Only the SHA-256 of the cookie token is stored."""

    __tablename__ = "insight_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginLink(Base):
    """A one-time login link the bot sent to a bot admin's DM."""

    __tablename__ = "insight_login_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class SourceCostOverride(Base):
    """An acquisition cost set by an admin; wins over ``insight.sources``."""

    __tablename__ = "insight_source_costs"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    cost_per_member: Mapped[float | None] = mapped_column(Float)
    spend: Mapped[float | None] = mapped_column(Float)
    period_days: Mapped[float] = mapped_column(Float, default=30.0)
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime]


class MemberActivity(Base):
    """Which weeks since joining each member did something, as bits (bit N: active in
    their N-th week). Folded in from ``interactions`` by id, with OR, so re-reading
    rows is harmless; retention then reads one row per member instead of every event."""

    __tablename__ = "insight_activity"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    weeks: Mapped[int] = mapped_column(BigInteger, default=0)


class MemberLoop(Base):
    """Where each member is in the five-step loop, one narrow row per member, so the
    funnel and the source figures scan one table instead of joining members,
    journeys, orders and referrals. Timestamps rather than counts where a figure
    looks at a period's end (orders, friends); kept current by
    :func:`storage.member_loop.sync_member_loop`, which the writers of these facts call."""

    __tablename__ = "insight_member_loop"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    #: copied from ``members``
    source: Mapped[str | None] = mapped_column(String(64))
    joined_at: Mapped[datetime]
    #: joined with someone's referral code
    referred: Mapped[bool] = mapped_column(Boolean, default=False)
    #: from the journey (no journey: not engaged, no trust)
    engaged: Mapped[bool] = mapped_column(Boolean, default=False)
    trust: Mapped[float | None] = mapped_column(Float)
    first_offer_at: Mapped[datetime | None]
    #: from ``orders``: the first two order times and the revenue to date
    first_order_at: Mapped[datetime | None]
    second_order_at: Mapped[datetime | None]
    revenue: Mapped[float] = mapped_column(Float, default=0.0)
    #: members who joined with this member's referral code, to date, and the first one's join
    friends: Mapped[int] = mapped_column(Integer, default=0)
    first_friend_at: Mapped[datetime | None]


class RollupMark(Base):
    """How far a rollup has read its source table (the highest id folded in)."""

    __tablename__ = "insight_rollup_marks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_id: Mapped[int] = mapped_column(IdType, default=0)


class PushWeek(Base):
    """Proactive messages one member got in one calendar week (weeks start on
    Monday, numbered from 1970-01-05), folded in from ``push_sends``."""

    __tablename__ = "insight_push_weeks"

    member_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    week: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    offers: Mapped[int] = mapped_column(Integer, default=0)


class PushLoad(Base):
    """Per week: how many members got exactly ``messages`` proactive messages (and
    the offers among them), so load, maximum and over-cap counts read a few rows."""

    __tablename__ = "insight_push_load"

    week: Mapped[int] = mapped_column(Integer, primary_key=True)
    messages: Mapped[int] = mapped_column(Integer, primary_key=True)
    members: Mapped[int] = mapped_column(Integer, default=0)
    offers: Mapped[int] = mapped_column(Integer, default=0)


class GateDay(Base):
    """Gate decisions per UTC day, category, outcome and reason."""

    __tablename__ = "insight_gate_days"

    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    decisions: Mapped[int] = mapped_column(Integer, default=0)
