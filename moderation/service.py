"""Moderation actions in one place: each platform call is paired with its audit
record (and log-chat copy), so no path can act without leaving a trace."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.context import Context
from bot.errors import DeliveryError
from bot.events import ChatKind, ChatRef, Event, OutgoingMessage, UserRef
from bot.i18n import Catalog
from bot.outbound import Outbound
from moderation.admins import AdminCache
from moderation.captcha_store import CaptchaStore
from moderation.config import GroupPolicy, ModerationConfig
from moderation.flood import FloodCounter
from moderation.store import ModerationStore
from storage.members import ChatRepository

log = logging.getLogger("warmline.moderation")

Feed = Callable[[Event], Awaitable[Context]]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a person (user id and name) or the bot itself."""

    user_id: str
    name: str

    @classmethod
    def bot(cls) -> Actor:
        return cls("bot", "bot")


@dataclass(frozen=True, slots=True)
class Target:
    user: UserRef
    member_id: int | None

    @property
    def name(self) -> str:
        return self.user.display_name or (
            f"@{self.user.username}" if self.user.username else self.user.id
        )


class Moderation:
    def __init__(
        self,
        config: ModerationConfig,
        *,
        store: ModerationStore,
        captchas: CaptchaStore,
        adapter: Outbound,
        clock: Clock,
        catalog: Catalog,
        default_language: str,
        flood: FloodCounter,
        bot_admins: list[str],
        feed: Feed | None = None,
        chats: ChatRepository | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.captchas = captchas
        self.adapter = adapter
        self.clock = clock
        self.catalog = catalog
        #: where the group's title is kept, so /modlog can name the group
        self.chats = chats
        self.language = default_language
        self.flood = flood
        self.admins = AdminCache(adapter, clock, config.admin_cache)
        self.bot_admins = frozenset(bot_admins)
        #: re-dispatches an event (a join once its captcha is solved)
        self.feed = feed

    def policy(self, chat: ChatRef) -> GroupPolicy:
        return self.config.for_chat(chat.id)

    def greets_newcomers(self, chat_id: str) -> bool:
        """Whether this group welcomes its newcomers with rules (the journey then stays quiet)."""
        return self.config.enabled and self.config.for_chat(chat_id).welcome.enabled

    @property
    def capable(self) -> bool:
        """Whether the platform lets the bot mute, ban and list a group's admins."""
        return self.adapter.capabilities.moderate

    async def may_moderate(self, chat: ChatRef, user: UserRef) -> bool:
        """Bot admins anywhere; in a group, its real administrators."""
        if user.id in self.bot_admins:
            return True
        if chat.is_private:
            return False
        return await self.admins.is_admin(chat, user.id)

    async def rules_text(self, chat: ChatRef) -> str:
        stored = await self.store.rules(chat.platform, chat.id)
        return stored if stored is not None else self.policy(chat).rules

    # -- actions ------------------------------------------------------------
    async def mute(
        self, chat: ChatRef, target: Target, actor: Actor, reason: str, duration: timedelta | None
    ) -> datetime | None:
        until = self.clock.now() + duration if duration else None
        await self.adapter.restrict(chat, target.user, until)
        await self.audit(chat, "mute", actor, target, reason, until=until)
        return until

    async def unmute(self, chat: ChatRef, target: Target, actor: Actor, reason: str = "") -> None:
        await self.adapter.unrestrict(chat, target.user)
        await self.audit(chat, "unmute", actor, target, reason)

    async def ban(self, chat: ChatRef, target: Target, actor: Actor, reason: str) -> None:
        await self.adapter.ban(chat, target.user)
        await self.audit(chat, "ban", actor, target, reason)

    async def unban(self, chat: ChatRef, target: Target, actor: Actor, reason: str = "") -> None:
        await self.adapter.unban(chat, target.user)
        await self.audit(chat, "unban", actor, target, reason)

    async def kick(self, chat: ChatRef, target: Target, actor: Actor, reason: str) -> None:
        """Remove without banning: ban, then lift the ban so they may come back."""
        await self.adapter.ban(chat, target.user)
        await self.adapter.unban(chat, target.user)
        await self.audit(chat, "kick", actor, target, reason)

    async def delete_message(
        self, chat: ChatRef, message_id: str, target: Target, reason: str
    ) -> None:
        try:
            await self.adapter.delete(chat, message_id)
        except DeliveryError as exc:  # already gone, or too old to delete
            log.info("could not delete message %s in %s: %s", message_id, chat.id, exc)
        await self.audit(
            chat, "delete", Actor.bot(), target, reason, detail={"message": message_id}
        )

    async def warn(
        self, chat: ChatRef, target: Target, actor: Actor, reason: str
    ) -> tuple[int, str | None]:
        """Warn and escalate; returns (active warnings, "mute"/"ban"/None)."""
        assert target.member_id is not None
        rules = self.policy(chat).warnings
        now = self.clock.now()
        expires = now + rules.expire_after if rules.expire_after else None
        count = await self.store.add_warning(
            chat.platform,
            chat.id,
            target.member_id,
            reason=reason,
            issued_by=actor.user_id,
            at=now,
            expires_at=expires,
        )
        await self.audit(chat, "warn", actor, target, reason, detail={"active": count})
        escalation = f"warnings: {count}"
        if rules.ban_at and count >= rules.ban_at:
            await self.ban(chat, target, Actor.bot(), escalation)
            return count, "ban"
        if rules.mute_at and count >= rules.mute_at:
            await self.mute(chat, target, Actor.bot(), escalation, rules.mute_for or None)
            return count, "mute"
        return count, None

    async def delete_later(self, chat: ChatRef, message_id: str, after: timedelta) -> None:
        if after:
            await self.captchas.schedule_deletion(
                chat.platform, chat.id, message_id, self.clock.now() + after
            )

    # -- audit ----------------------------------------------------------------
    async def audit(
        self,
        chat: ChatRef,
        action: str,
        actor: Actor,
        target: Target | None,
        reason: str,
        *,
        until: datetime | None = None,
        detail: dict[str, object] | None = None,
    ) -> None:
        now = self.clock.now()
        if self.chats is not None and chat.title:
            await self.chats.touch(chat, now)
        await self.store.record_action(
            platform=chat.platform,
            chat_id=chat.id,
            action=action,
            actor_user_id=actor.user_id,
            member_id=target.member_id if target else None,
            target_user_id=target.user.id if target else None,
            target_name=target.name[:256] if target else None,
            reason=reason,
            at=now,
            until=until,
            detail=dict(detail or {}),
        )
        if self.config.log_chat:
            lang = self.language
            text = self.catalog.t(
                lang,
                "moderation.log.line" if target else "moderation.log.line_no_target",
                action=self.catalog.t(lang, f"moderation.log.actions.{action}"),
                chat=chat.title or self.catalog.t(lang, "admin.modlog.unnamed_group"),
                actor=actor.name,
                target=target.name if target else "",
                reason=reason or self.catalog.t(lang, "admin.modlog.no_reason"),
                at=now.strftime("%Y-%m-%d %H:%M UTC"),
            )
            log_chat = ChatRef(chat.platform, self.config.log_chat, ChatKind.GROUP)
            try:
                await self.adapter.send(OutgoingMessage(chat=log_chat, text=text, silent=True))
            except DeliveryError as exc:
                log.warning("could not copy a moderation action to the log chat: %s", exc)
