"""Tables of the push gate: sends, waiting messages, decisions, campaigns, scheduler jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, LargeBinary, String, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base, IdType


class PushSend(Base):
    """One delivered push per (member, message key): the idempotency ledger and,
    for rows that ``counts``, the rolling windows the SQL backend counts caps in."""

    __tablename__ = "push_sends"
    __table_args__ = (
        Index("ix_push_sends_member_at", "member_id", "at"),
        # insight's push rollup finds new sends by time
        Index("ix_push_sends_at", "at"),
    )

    member_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    counts: Mapped[bool] = mapped_column(Boolean, default=True)
    at: Mapped[datetime]


class PushPending(Base):
    """A deferred message waiting for its member's next free slot (the waiting line)."""

    __tablename__ = "push_pending"
    __table_args__ = (Index("ix_push_pending_due_at", "due_at"),)

    member_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    #: first submission time in epoch milliseconds: breaks priority ties first-come first-served
    seq: Mapped[int] = mapped_column(IdType)
    due_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    text: Mapped[str] = mapped_column(String(8192))
    buttons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    campaign_id: Mapped[str | None] = mapped_column(String(64))


class PushGroupPost(Base):
    """Bot posts per group, for the per-group daily cap (SQL backend)."""

    __tablename__ = "push_group_posts"
    __table_args__ = (Index("ix_push_group_posts_chat_at", "chat_key", "at"),)

    chat_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    at: Mapped[datetime]


class PushSwitch(Base):
    """Named flags shared by every worker (the kill switch) when Redis is not used."""

    __tablename__ = "push_switches"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    on: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str | None] = mapped_column(String(64))
    changed_at: Mapped[datetime]


class PushDecision(Base):
    """Every gate decision, so admins can see what was capped and why."""

    __tablename__ = "push_decisions"
    __table_args__ = (
        Index("ix_push_decisions_at", "at"),
        Index("ix_push_decisions_member_at", "member_id", "at"),
        Index("ix_push_decisions_campaign", "campaign_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    member_id: Mapped[int | None] = mapped_column(IdType)
    chat_key: Mapped[str | None] = mapped_column(String(100))
    message_key: Mapped[str] = mapped_column(String(160))
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    until: Mapped[datetime | None]
    #: the start of the message's text (``push.store.DECISION_TEXT`` characters)
    text: Mapped[str | None] = mapped_column(String(200))


class PushCampaign(Base):
    __tablename__ = "push_campaigns"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    segment: Mapped[str] = mapped_column(String(64))
    #: the segment's filter as it stood at the preview (None: ``all`` or a feature's segment)
    audience: Mapped[str | None] = mapped_column(String(1024))
    text: Mapped[str] = mapped_column(String(8192))
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    #: draft → running → done; ``materialised`` once the outbox holds the whole audience
    status: Mapped[str] = mapped_column(String(16), index=True)
    materialised: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(String(64))
    #: where progress is reported (platform chat id of the admin's DM), if anywhere
    notify_chat: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    #: the worker sending it while running, and until when its heartbeat holds the lease
    lease_owner: Mapped[str | None] = mapped_column(String(96))
    lease_until: Mapped[datetime | None]


class PushOutbox(Base):
    """One row per (campaign, member): the fan-out resumes from here after a crash."""

    __tablename__ = "push_outbox"
    __table_args__ = (Index("ix_push_outbox_campaign_state", "campaign_id", "state"),)

    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: pending → sending → sent | deferred | dropped (deferred rows turn sent/dropped when
    #: delivered); a row left in ``sending`` by a dead worker ends ``unconfirmed``
    state: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime | None]


class SchedulerJob(Base):
    """APScheduler's SQLAlchemy job store table, created by our migrations."""

    __tablename__ = "scheduler_jobs"

    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)


class BatchedPush(Base):
    """A proactive message the platform's message window refused, taken into the day's
    mass-send batch instead (platforms whose adapter batches them, bot.adapter)."""

    __tablename__ = "push_batched"
    __table_args__ = (
        Index("ix_push_batched_state_due", "state", "due_at"),
        Index("ix_push_batched_member_updated", "member_id", "updated_at"),
    )

    member_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    seq: Mapped[int] = mapped_column(IdType)
    text: Mapped[str] = mapped_column(String(8192))
    #: the batch it joins; ``expires_at``: past it the message makes no sense any more
    due_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    #: queued → waiting (in a task staff must confirm) → sent | dropped
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    #: the mass-send task it went in (MassSender's batch name)
    task: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime]
