"""The group guard: a middleware, because it must see every group event and
still let clean ones through to the other features' handlers.

Joins get a captcha (or a welcome), join requests a captcha in DM, and each
group message from a non-exempt member passes: pending captcha → anti-flood →
locks (stricter for newcomers who have not bought yet). A message that breaks a rule is deleted and
goes no further.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.context import Context
from bot.dispatcher import Next
from bot.errors import DeliveryError
from bot.events import IncomingMessage, JoinRequest, MemberJoined, MemberLeft
from moderation.captcha import (
    VERIFIED_PREFIX,
    remove_prompt,
    send_welcome,
    start_challenge,
)
from moderation.filters import violation
from moderation.service import Actor, Moderation, Target

log = logging.getLogger("warmline.moderation.guard")

#: how long the short notice about a deleted message stays in the group
NOTICE_LIFETIME = timedelta(seconds=60)


class GroupGuard:
    async def __call__(self, call_next: Next, ctx: Context) -> None:
        mod = ctx.services.find(Moderation)
        event = ctx.event
        if (
            mod is None
            or not mod.config.enabled
            or not mod.capable  # the platform cannot moderate: nothing to guard with
            or event.user.is_bot
            or ctx.member is None
        ):
            await call_next(ctx)
            return
        try:
            stopped = await self._check(ctx, mod)
        except DeliveryError as exc:  # fail open: a bot without rights still serves the group
            log.warning("moderation in chat %s failed (is the bot an admin?): %s", ctx.chat.id, exc)
            stopped = False
        if not stopped:
            await call_next(ctx)

    async def _check(self, ctx: Context, mod: Moderation) -> bool:
        """True when the event stops here."""
        event = ctx.event
        if isinstance(event, JoinRequest):
            if not mod.adapter.capabilities.approve_joins:
                return False
            return await self._join_request(ctx, mod)
        if ctx.chat.is_private:
            return False
        if isinstance(event, MemberJoined):
            return await self._joined(ctx, mod)
        if isinstance(event, MemberLeft):
            await self._left(ctx, mod)
            return False
        if isinstance(event, IncomingMessage):
            return await self._stopped(ctx, mod, event)
        return False

    async def _join_request(self, ctx: Context, mod: Moderation) -> bool:
        policy = mod.policy(ctx.chat).captcha
        if policy.mode == "off" or not policy.join_requests:
            return False
        await start_challenge(ctx, mod, kind="request")
        ctx.data["moderation"] = "captcha_request"
        return True

    async def _joined(self, ctx: Context, mod: Moderation) -> bool:
        """True when the join stops here (the newcomer must solve a captcha first)."""
        assert ctx.member is not None
        event = ctx.event
        if event.update_key and event.update_key.startswith(VERIFIED_PREFIX):
            return False
        chat = ctx.chat
        if (
            mod.policy(chat).captcha.mode == "off"
            or await mod.may_moderate(chat, event.user)
            or await mod.captchas.has_solved(chat.platform, chat.id, ctx.member.id)
        ):
            await send_welcome(ctx, mod, chat, event.user)
            return False
        await start_challenge(ctx, mod, kind="join")
        ctx.data["moderation"] = "captcha"
        return True

    async def _left(self, ctx: Context, mod: Moderation) -> None:
        assert ctx.member is not None
        chat = ctx.chat
        pending = await mod.captchas.pending_challenge(chat.platform, chat.id, ctx.member.id)
        if pending is not None and await mod.captchas.close_challenge(pending.id, "left"):
            await remove_prompt(mod, pending)

    async def _stopped(self, ctx: Context, mod: Moderation, message: IncomingMessage) -> bool:
        assert ctx.member is not None
        chat, user, member_id = ctx.chat, message.user, ctx.member.id
        if await mod.may_moderate(chat, user):
            return False
        target = Target(user, member_id)
        if await mod.captchas.pending_challenge(chat.platform, chat.id, member_id) is not None:
            await mod.delete_message(chat, message.message_id, target, "captcha_pending")
            ctx.data["moderation"] = "captcha_pending"
            return True
        if await mod.store.is_approved(chat.platform, chat.id, member_id):
            return False
        policy = mod.policy(chat)
        flood = policy.flood
        if flood.messages and flood.window:
            count = await mod.flood.hit(chat, user, message.at, flood.window)
            if count > flood.messages:
                await mod.delete_message(chat, message.message_id, target, "flood")
                if count == flood.messages + 1:
                    until = await mod.mute(
                        chat, target, Actor.bot(), "flood", flood.mute_for or None
                    )
                    minutes = round(flood.mute_for.total_seconds() / 60)
                    await self._notice(ctx, mod, "moderation.flood.muted", minutes=minutes)
                    ctx.data["muted_until"] = until
                ctx.data["moderation"] = "flood"
                return True
        joined = await mod.store.joined_at(chat.platform, chat.id, member_id)
        newcomer = (
            joined is not None
            and bool(policy.newcomer.period)
            and mod.clock.now() - joined < policy.newcomer.period
            and not await mod.store.is_buyer(member_id)
        )
        broken = violation(message, policy, newcomer, mod.adapter.limits.link_hosts)
        if broken is None:
            return False
        await mod.delete_message(chat, message.message_id, target, broken)
        await self._notice(ctx, mod, f"moderation.deleted.{broken}")
        ctx.data["moderation"] = broken
        return True

    async def _notice(self, ctx: Context, mod: Moderation, key: str, **values: object) -> None:
        user = ctx.event.user
        name = user.display_name or user.username or user.id
        sent = await ctx.reply(ctx.t(key, name=name, **values), silent=True)
        await mod.delete_later(ctx.chat, sent.message_id, NOTICE_LIFETIME)
