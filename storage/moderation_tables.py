"""Tables of the community feature: rules, warnings, approvals, captchas,
scheduled deletions and the moderation audit log.

Rows about a member carry a ``member_id`` column, so the privacy tools find
them without knowing this module. ``info["privacy"]`` tells them what to do on
``/forgetme``: delete (the default) or anonymise (keep the row, drop identity).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base, IdType


class GroupRules(Base):
    """Rules text set with ``/setrules`` (overrides ``moderation.rules``)."""

    __tablename__ = "group_rules"
    __table_args__ = (UniqueConstraint("platform", "chat_id", name="uq_group_rules_chat"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class MemberWarning(Base):
    __tablename__ = "member_warnings"
    __table_args__ = (Index("ix_member_warnings_lookup", "platform", "chat_id", "member_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(512), default="")
    issued_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class ApprovedMember(Base):
    """Members an admin vouched for with ``/approve``: exempt from locks and flood."""

    __tablename__ = "approved_members"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    approved_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class CaptchaChallenge(Base):
    """A newcomer (or join request) waiting to prove they are human."""

    __tablename__ = "captcha_challenges"
    __table_args__ = (
        UniqueConstraint("platform", "chat_id", "member_id", name="uq_captcha_challenges_member"),
        Index("ix_captcha_challenges_due", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    #: "join" (restricted in the group) or "request" (answered in DM)
    kind: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str] = mapped_column(String(32))
    attempts_left: Mapped[int] = mapped_column(Integer)
    #: chat and message holding the buttons, removed once the challenge ends
    prompt_chat_id: Mapped[str | None] = mapped_column(String(64))
    prompt_message_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ScheduledDeletion(Base):
    """Bot messages to delete later (welcomes, captcha prompts)."""

    __tablename__ = "scheduled_deletions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(index=True)


class ModerationAction(Base):
    """Audit log: who did what to whom, why and when.

    Kept after ``/forgetme`` without the member's identity, so the group's
    moderation history stays accountable.
    """

    __tablename__ = "moderation_actions"
    __table_args__ = (
        Index("ix_moderation_actions_chat_at", "platform", "chat_id", "at"),
        {
            "info": {
                "privacy": {
                    "on_forget": "anonymise",
                    "clear": ["target_user_id", "target_name"],
                    "user_columns": ["actor_user_id"],
                    "kept": "privacy.kept.moderation_actions",
                }
            }
        },
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    #: who acted: a user id, or "bot" for automatic actions
    actor_user_id: Mapped[str | None] = mapped_column(String(64))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    target_user_id: Mapped[str | None] = mapped_column(String(64))
    target_name: Mapped[str | None] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(String(512), default="")
    until: Mapped[datetime | None]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime]
