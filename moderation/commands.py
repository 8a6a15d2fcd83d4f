"""Moderation commands in a group: honoured only from the group's real
administrators or bot admins; anyone else gets a short refusal and nothing
else happens (no platform call)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.context import Context
from bot.errors import DeliveryError
from bot.events import ChatKind, ChatRef, OutgoingMessage, UserRef
from bot.router import Router
from moderation.service import Actor, Moderation, Target
from moderation.targets import (
    BadDuration,
    Resolved,
    reason_of,
    resolve_target,
    take_duration,
)

router = Router("moderation.commands")

Action = Callable[[Context, Moderation, Resolved, Actor], Awaitable[None]]
MAX_RULES = 3500


def _actor(ctx: Context) -> Actor:
    user = ctx.event.user
    return Actor(user.id, user.display_name or user.username or user.id)


async def _guarded(ctx: Context, command: str, action: Action) -> None:
    """Group only → permission → target → action, with a usage line on bad input."""
    mod = ctx.services.require(Moderation)
    if not mod.capable:  # nothing is asked of the platform
        ctx.data["refused"] = "unsupported"
        await ctx.reply(ctx.t("moderation.unsupported", command=command))
        return
    if ctx.chat.is_private:
        await ctx.reply(ctx.t("moderation.group_only", command=command))
        return
    if not await mod.may_moderate(ctx.chat, ctx.event.user):
        ctx.data["refused"] = "not_admin"
        await ctx.reply(ctx.t("moderation.refused"), quote=True)
        return
    resolved = await resolve_target(ctx)
    if isinstance(resolved, str):
        key = f"moderation.usage.{command}" if resolved == "usage" else resolved
        await ctx.reply(ctx.t(key), quote=True)
        return
    me = await mod.adapter.me()
    if resolved.target.user.id == me.id or await mod.may_moderate(ctx.chat, resolved.target.user):
        await ctx.reply(ctx.t("moderation.errors.protected"), quote=True)
        return
    try:
        await action(ctx, mod, resolved, _actor(ctx))
    except DeliveryError as exc:
        ctx.data["failed"] = str(exc)
        await ctx.reply(ctx.t("moderation.errors.platform"), quote=True)
    except BadDuration as exc:
        await ctx.reply(
            ctx.t("moderation.errors.bad_duration", value=str(exc)[:32])
            + "\n"
            + ctx.t(f"moderation.usage.{command}"),
            quote=True,
        )


async def _done(ctx: Context, key: str, target: Target, reason: str, **values: object) -> None:
    text = ctx.t(key, name=target.name, **values)
    if reason:
        text += "\n" + ctx.t("moderation.reason", reason=reason)
    await ctx.reply(text)


@router.command("ban")
async def ban(ctx: Context) -> None:
    async def act(ctx: Context, mod: Moderation, r: Resolved, actor: Actor) -> None:
        reason = reason_of(r.rest)
        await mod.ban(ctx.chat, r.target, actor, reason)
        await _done(ctx, "moderation.done.ban", r.target, reason)

    await _guarded(ctx, "ban", act)


@router.command("unban")
async def unban(ctx: Context) -> None:
    async def act(ctx: Context, mod: Moderation, r: Resolved, actor: Actor) -> None:
        await mod.unban(ctx.chat, r.target, actor, reason_of(r.rest))
        await _done(ctx, "moderation.done.unban", r.target, "")

    await _guarded(ctx, "unban", act)


@router.command("kick")
async def kick(ctx: Context) -> None:
    async def act(ctx: Context, mod: Moderation, r: Resolved, actor: Actor) -> None:
        reason = reason_of(r.rest)
        await mod.kick(ctx.chat, r.target, actor, reason)
        await _done(ctx, "moderation.done.kick", r.target, reason)

    await _guarded(ctx, "kick", act)


@router.command("mute")
async def mute(ctx: Context) -> None:
    async def act(ctx: Context, mod: Moderation, r: Resolved, actor: Actor) -> None:
        duration, rest = take_duration(r.rest, mod.adapter.limits.max_restriction)
        reason = reason_of(rest)
        until = await mod.mute(ctx.chat, r.target, actor, reason, duration)
        if until is None:
            await _done(ctx, "moderation.done.mute", r.target, reason)
        else:
            when = until.strftime("%Y-%m-%d %H:%M UTC")
            await _done(ctx, "moderation.done.mute_until", r.target, reason, until=when)

    await _guarded(ctx, "mute", act)


@router.command("unmute")
async def unmute(ctx: Context) -> None:
    async def act(ctx: Context, mod: Moderation, r: Resolved, actor: Actor) -> None:
        await mod.unmute(ctx.chat, r.target, actor, reason_of(r.rest))
        await _done(ctx, "moderation.done.unmute", r.target, "")

    await _guarded(ctx, "unmute", act)


@router.command("warn")
async def warn(ctx: Context) -> None:
    async def act(ctx: Context, mod: Moderation, r: Resolved, actor: Actor) -> None:
        reason = reason_of(r.rest)
        count, escalated = await mod.warn(ctx.chat, r.target, actor, reason)
        rules = mod.policy(ctx.chat).warnings
        limit = rules.ban_at or rules.mute_at or count
        await _done(ctx, "moderation.done.warn", r.target, reason, count=count, limit=limit)
        if escalated is not None:
            await ctx.reply(ctx.t(f"moderation.done.escalated_{escalated}", name=r.target.name))

    await _guarded(ctx, "warn", act)


@router.command("unwarn")
async def unwarn(ctx: Context) -> None:
    async def act(ctx: Context, mod: Moderation, r: Resolved, actor: Actor) -> None:
        assert r.target.member_id is not None
        left = await mod.store.revoke_last_warning(
            ctx.chat.platform, ctx.chat.id, r.target.member_id, mod.clock.now()
        )
        if left is None:
            await ctx.reply(ctx.t("moderation.done.no_warnings", name=r.target.name))
            return
        await mod.audit(ctx.chat, "unwarn", actor, r.target, reason_of(r.rest))
        await _done(ctx, "moderation.done.unwarn", r.target, "", count=left)

    await _guarded(ctx, "unwarn", act)


@router.command("approve")
async def approve(ctx: Context) -> None:
    async def act(ctx: Context, mod: Moderation, r: Resolved, actor: Actor) -> None:
        assert r.target.member_id is not None
        chat = ctx.chat
        await mod.store.approve(
            chat.platform, chat.id, r.target.member_id, actor.user_id, mod.clock.now()
        )
        await mod.audit(chat, "approve", actor, r.target, reason_of(r.rest))
        await _done(ctx, "moderation.done.approve", r.target, "")

    await _guarded(ctx, "approve", act)


@router.command("unapprove")
async def unapprove(ctx: Context) -> None:
    async def act(ctx: Context, mod: Moderation, r: Resolved, actor: Actor) -> None:
        assert r.target.member_id is not None
        chat = ctx.chat
        await mod.store.unapprove(chat.platform, chat.id, r.target.member_id)
        await mod.audit(chat, "unapprove", actor, r.target, reason_of(r.rest))
        await _done(ctx, "moderation.done.unapprove", r.target, "")

    await _guarded(ctx, "unapprove", act)


@router.command("rules", summary_key="commands.rules", works_in="group")
async def rules(ctx: Context) -> None:
    if ctx.chat.is_private:
        await ctx.reply(ctx.t("moderation.group_only", command="rules"))
        return
    text = await ctx.services.require(Moderation).rules_text(ctx.chat)
    await ctx.reply(
        ctx.t("moderation.rules.header") + "\n" + text if text else ctx.t("moderation.rules.none")
    )


@router.command("setrules")
async def set_rules(ctx: Context) -> None:
    mod = ctx.services.require(Moderation)
    message = ctx.message
    assert message is not None and message.command is not None
    if ctx.chat.is_private:
        await ctx.reply(ctx.t("moderation.group_only", command="setrules"))
        return
    if not await mod.may_moderate(ctx.chat, ctx.event.user):
        ctx.data["refused"] = "not_admin"
        await ctx.reply(ctx.t("moderation.refused"), quote=True)
        return
    text = message.command.args.strip() or (message.reply_to.text if message.reply_to else "") or ""
    if not text.strip():
        await ctx.reply(ctx.t("moderation.usage.setrules"), quote=True)
        return
    if len(text) > MAX_RULES:
        await ctx.reply(ctx.t("moderation.errors.rules_too_long", limit=MAX_RULES), quote=True)
        return
    await mod.store.set_rules(ctx.chat.platform, ctx.chat.id, text, mod.clock.now())
    await mod.audit(ctx.chat, "setrules", _actor(ctx), None, "")
    await ctx.reply(ctx.t("moderation.rules.saved"))


@router.command("report", summary_key="commands.report", works_in="group")
async def report(ctx: Context) -> None:
    """Members flag a message (by replying) to the group's admins."""
    mod = ctx.services.require(Moderation)
    message = ctx.message
    assert message is not None
    if ctx.chat.is_private:
        await ctx.reply(ctx.t("moderation.group_only", command="report"))
        return
    reply = message.reply_to
    if reply is None or reply.user is None:
        await ctx.reply(ctx.t("moderation.usage.report"), quote=True)
        return
    reporter = _actor(ctx)
    reported = reply.user
    member = await ctx.services.members.get(reported.platform, reported.id)
    excerpt = (reply.text or "")[:300]
    text = mod.catalog.t(
        mod.language,
        "moderation.report.alert",
        reporter=reporter.name,
        name=reported.display_name or reported.id,
        group=ctx.chat.title or mod.catalog.t(mod.language, "admin.modlog.unnamed_group"),
        text=excerpt or mod.catalog.t(mod.language, "moderation.report.no_text"),
    )
    await _alert_admins(mod, ctx.chat, text)
    await mod.audit(
        ctx.chat,
        "report",
        reporter,
        Target(reported, member.id if member else None),
        excerpt,
        detail={"message": reply.message_id},
    )
    await ctx.reply(ctx.t("moderation.report.thanks"), quote=True)


async def _alert_admins(mod: Moderation, chat: ChatRef, text: str) -> None:
    """To the log chat if there is one, else to each human admin's DM."""
    if mod.config.log_chat:
        targets = [ChatRef(chat.platform, mod.config.log_chat, ChatKind.GROUP)]
    elif not mod.capable:  # the platform cannot list the group's admins: the bot's
        targets = [mod.adapter.dm(UserRef(chat.platform, admin)) for admin in mod.bot_admins]
    else:
        admins: list[UserRef] = [a for a in await mod.adapter.list_admins(chat) if not a.is_bot]
        targets = [mod.adapter.dm(admin) for admin in admins]
    for target in targets:
        try:
            await mod.adapter.send(OutgoingMessage(chat=target, text=text))
        except DeliveryError:
            continue  # an admin who never started the bot cannot be messaged
