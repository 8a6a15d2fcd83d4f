"""Repository of the community feature, so moderation handlers never write SQL.

Captcha challenges and scheduled deletions live in :mod:`moderation.captcha_store`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update

from storage.database import Database
from storage.members import insert_for
from storage.models import metadata
from storage.moderation_tables import (
    ApprovedMember,
    GroupRules,
    MemberWarning,
    ModerationAction,
)
from storage.tables import Chat, ChatMembership, Member

#: buyers are trusted like long-standing members (not treated as newcomers)
ORDERS_TABLE = "orders"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    chat_id: str
    action: str
    actor_user_id: str | None
    target_user_id: str | None
    target_name: str | None
    reason: str
    until: datetime | None
    at: datetime
    #: the group's title and the acting admin's name, where known (for people to read)
    chat_title: str | None = None
    actor_name: str | None = None


class ModerationStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- rules --------------------------------------------------------------
    async def rules(self, platform: str, chat_id: str) -> str | None:
        stmt = select(GroupRules.text).where(
            GroupRules.platform == platform, GroupRules.chat_id == chat_id
        )
        async with self._db.session() as session:
            return (await session.execute(stmt)).scalar_one_or_none()

    async def set_rules(self, platform: str, chat_id: str, text: str, at: datetime) -> None:
        stmt = insert_for(self._db.dialect, GroupRules).values(
            platform=platform, chat_id=chat_id, text=text, updated_at=at
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[GroupRules.platform, GroupRules.chat_id],
            set_={"text": stmt.excluded.text, "updated_at": stmt.excluded.updated_at},
        )
        async with self._db.session() as session, session.begin():
            await session.execute(stmt)

    async def joined_at(self, platform: str, chat_id: str, member_id: int) -> datetime | None:
        """When the member (last) joined the group, if the bot saw it."""
        stmt = (
            select(ChatMembership.joined_at)
            .join(Chat, Chat.id == ChatMembership.chat_id)
            .where(
                Chat.platform == platform,
                Chat.chat_id == chat_id,
                ChatMembership.member_id == member_id,
                ChatMembership.active.is_(True),
            )
        )
        async with self._db.session() as session:
            return (await session.execute(stmt)).scalar_one_or_none()

    async def is_buyer(self, member_id: int) -> bool:
        """Whether the member has an order (the flows feature's ``orders`` table)."""
        orders = metadata.tables.get(ORDERS_TABLE)
        if orders is None or "member_id" not in orders.c:
            return False
        stmt = select(orders.c.member_id).where(orders.c.member_id == member_id).limit(1)
        async with self._db.session() as session:
            return (await session.execute(stmt)).first() is not None

    # -- warnings -----------------------------------------------------------
    async def add_warning(
        self,
        platform: str,
        chat_id: str,
        member_id: int,
        *,
        reason: str,
        issued_by: str,
        at: datetime,
        expires_at: datetime | None,
    ) -> int:
        """Store a warning; returns the member's active warnings in this group."""
        async with self._db.session() as session, session.begin():
            session.add(
                MemberWarning(
                    platform=platform,
                    chat_id=chat_id,
                    member_id=member_id,
                    reason=reason,
                    issued_by=issued_by,
                    at=at,
                    expires_at=expires_at,
                    revoked=False,
                )
            )
        return await self.active_warnings(platform, chat_id, member_id, at)

    async def active_warnings(
        self, platform: str, chat_id: str, member_id: int, now: datetime
    ) -> int:
        stmt = select(func.count(MemberWarning.id)).where(
            self._active(platform, chat_id, member_id, now)
        )
        async with self._db.session() as session:
            return int((await session.execute(stmt)).scalar_one())

    async def revoke_last_warning(
        self, platform: str, chat_id: str, member_id: int, now: datetime
    ) -> int | None:
        """Revoke the newest active warning; returns how many stay active (None: none)."""
        newest = (
            select(MemberWarning.id)
            .where(self._active(platform, chat_id, member_id, now))
            .order_by(MemberWarning.at.desc(), MemberWarning.id.desc())
            .limit(1)
        )
        async with self._db.session() as session, session.begin():
            warning_id = (await session.execute(newest)).scalar_one_or_none()
            if warning_id is None:
                return None
            await session.execute(
                update(MemberWarning).where(MemberWarning.id == warning_id).values(revoked=True)
            )
        return await self.active_warnings(platform, chat_id, member_id, now)

    @staticmethod
    def _active(platform: str, chat_id: str, member_id: int, now: datetime) -> Any:
        return and_(
            MemberWarning.platform == platform,
            MemberWarning.chat_id == chat_id,
            MemberWarning.member_id == member_id,
            MemberWarning.revoked.is_(False),
            or_(MemberWarning.expires_at.is_(None), MemberWarning.expires_at > now),
        )

    # -- approvals ----------------------------------------------------------
    async def approve(
        self, platform: str, chat_id: str, member_id: int, by: str, at: datetime
    ) -> None:
        stmt = (
            insert_for(self._db.dialect, ApprovedMember)
            .values(platform=platform, chat_id=chat_id, member_id=member_id, approved_by=by, at=at)
            .on_conflict_do_nothing()
        )
        async with self._db.session() as session, session.begin():
            await session.execute(stmt)

    async def unapprove(self, platform: str, chat_id: str, member_id: int) -> bool:
        stmt = delete(ApprovedMember).where(
            ApprovedMember.platform == platform,
            ApprovedMember.chat_id == chat_id,
            ApprovedMember.member_id == member_id,
        )
        async with self._db.session() as session, session.begin():
            return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def is_approved(self, platform: str, chat_id: str, member_id: int) -> bool:
        stmt = select(ApprovedMember.member_id).where(
            ApprovedMember.platform == platform,
            ApprovedMember.chat_id == chat_id,
            ApprovedMember.member_id == member_id,
        )
        async with self._db.session() as session:
            return (await session.execute(stmt)).first() is not None

    # -- audit --------------------------------------------------------------
    async def record_action(
        self,
        *,
        platform: str,
        chat_id: str,
        action: str,
        actor_user_id: str | None,
        member_id: int | None,
        target_user_id: str | None,
        target_name: str | None,
        reason: str,
        at: datetime,
        until: datetime | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        async with self._db.session() as session, session.begin():
            session.add(
                ModerationAction(
                    platform=platform,
                    chat_id=chat_id,
                    action=action,
                    actor_user_id=actor_user_id,
                    member_id=member_id,
                    target_user_id=target_user_id,
                    target_name=target_name,
                    reason=reason[:512],
                    until=until,
                    detail=detail or {},
                    at=at,
                )
            )

    async def recent_actions(
        self, platform: str, offset: int = 0, limit: int = 10
    ) -> tuple[list[AuditEntry], int]:
        """A page of the audit log, newest first, and the total."""
        where = ModerationAction.platform == platform
        stmt = (
            select(ModerationAction, Chat.title, Member.display_name)
            .outerjoin(
                Chat, and_(Chat.platform == platform, Chat.chat_id == ModerationAction.chat_id)
            )
            .outerjoin(
                Member,
                and_(Member.platform == platform, Member.user_id == ModerationAction.actor_user_id),
            )
            .where(where)
            .order_by(ModerationAction.at.desc(), ModerationAction.id.desc())
            .offset(offset)
            .limit(limit)
        )
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).all()
            total = (
                await session.execute(select(func.count(ModerationAction.id)).where(where))
            ).scalar_one()
        entries = [
            AuditEntry(
                id=row.id,
                chat_id=row.chat_id,
                action=row.action,
                actor_user_id=row.actor_user_id,
                target_user_id=row.target_user_id,
                target_name=row.target_name,
                reason=row.reason,
                until=row.until,
                at=row.at,
                chat_title=title,
                actor_name=actor,
            )
            for row, title, actor in rows
        ]
        return entries, int(total)
