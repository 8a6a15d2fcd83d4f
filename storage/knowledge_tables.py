"""Tables of the knowledge feature: handoffs to humans and unanswered-question gaps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base, IdType


class KbHandoff(Base):
    """A question the bot did not answer itself, waiting for (or answered by) an admin."""

    __tablename__ = "kb_handoffs"
    __table_args__ = (
        Index("ix_kb_handoffs_status_created", "status", "created_at"),
        Index("ix_kb_handoffs_member_complaint", "member_id", "complaint", "status"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(64))
    member_name: Mapped[str] = mapped_column(String(256), default="")
    chat_id: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float)
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: the member reported a problem: promotions to them wait until this is closed
    complaint: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: open → closed
    status: Mapped[str] = mapped_column(String(16), default="open")
    #: the admin currently writing the reply (their next DM is relayed)
    replier_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))
    reply: Mapped[str | None] = mapped_column(Text)


class KbGap(Base):
    """An unanswered question, so the merchant can see what the KB is missing."""

    __tablename__ = "kb_gaps"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(Text)
    #: lower-cased, punctuation-free form used to group repeats
    normalized: Mapped[str] = mapped_column(String(255), index=True)
    lang: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float)
    best_source: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(index=True)


class KbLearned(Base):
    """What an admin taught: a paraphrase of an entry, or a new entry (question + answer)."""

    __tablename__ = "kb_learned"
    __table_args__ = (Index("ix_kb_learned_source_normalized", "source", "normalized"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    #: ``paraphrase`` (of ``source``) or ``entry`` (cited as ``learned.yaml#learned-<id>``)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(255))
    lang: Mapped[str] = mapped_column(String(8))
    question: Mapped[str] = mapped_column(Text)
    #: lower-cased, punctuation-free form: repeats are not stored twice, and /kb gaps
    #: leaves out what was taught
    normalized: Mapped[str] = mapped_column(String(255), index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    handoff_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_handoffs.id", ondelete="SET NULL")
    )
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
