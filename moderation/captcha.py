"""Join captcha: newcomers stay restricted until they press the right button;
join requests are answered with the same captcha in DM.

A solved join is dispatched again (marked verified), so features that greet
newcomers see only people who passed; a spammer never enters the funnel.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from bot.context import Context
from bot.errors import DeliveryError
from bot.events import (
    Button,
    ButtonPressed,
    ChatKind,
    ChatRef,
    MemberJoined,
    OutgoingMessage,
    UserRef,
)
from bot.router import Router
from moderation.captcha_store import Challenge
from moderation.service import Actor, Moderation, Target

log = logging.getLogger("warmline.moderation.captcha")

router = Router("moderation.captcha")

#: update keys of joins re-dispatched after a solved captcha
VERIFIED_PREFIX = "captcha-verified:"
PREFIX = "cap:"


def _question(mode: str) -> tuple[str, list[str], dict[str, int]]:
    """(answer, choices, values for the prompt text)."""
    if mode == "button":
        return "ok", ["ok"], {}
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    answer = a + b
    choices = {answer}
    while len(choices) < 4:
        choices.add(max(0, answer + secrets.choice((-3, -2, -1, 1, 2, 3, 4))))
    ordered = sorted(choices, key=lambda _: secrets.randbelow(1000))
    return str(answer), [str(c) for c in ordered], {"a": a, "b": b}


async def start_challenge(ctx: Context, mod: Moderation, *, kind: str) -> None:
    """Restrict the newcomer (``join``) or DM the requester (``request``) a captcha."""
    assert ctx.member is not None
    chat, user = ctx.chat, ctx.event.user
    policy = mod.policy(chat).captcha
    answer, choices, values = _question(policy.mode)
    if kind == "join":  # first: without the right to restrict there is no challenge
        await mod.adapter.restrict(chat, user, None)
    now = mod.clock.now()
    challenge_id = await mod.captchas.open_challenge(
        platform=chat.platform,
        chat_id=chat.id,
        member_id=ctx.member.id,
        user_id=user.id,
        kind=kind,
        answer=answer,
        attempts=policy.attempts,
        at=now,
        expires_at=now + policy.timeout,
    )
    name = user.display_name or user.username or user.id
    group = chat.title or ctx.t("moderation.the_group")
    minutes = max(1, round(policy.timeout.total_seconds() / 60))
    if policy.mode == "button":
        text = ctx.t(f"moderation.captcha.button_{kind}", name=name, minutes=minutes, group=group)
        labels = {"ok": ctx.t("moderation.captcha.press")}
    else:
        text = ctx.t(
            f"moderation.captcha.question_{kind}",
            name=name,
            minutes=minutes,
            group=group,
            **values,
        )
        labels = {choice: choice for choice in choices}
    buttons = [[Button(labels[c], data=f"{PREFIX}{challenge_id}:{c}") for c in choices]]
    if kind == "join":
        await mod.audit(chat, "captcha", Actor.bot(), Target(user, ctx.member.id), "joined")
        target_chat = chat
    else:
        target_chat = mod.adapter.dm(user)
    sent = await mod.adapter.send(
        OutgoingMessage(chat=target_chat, text=text, buttons=tuple(tuple(r) for r in buttons))
    )
    await mod.captchas.set_prompt(challenge_id, target_chat.id, sent.message_id)


async def send_welcome(ctx: Context, mod: Moderation, chat: ChatRef, user: UserRef) -> None:
    policy = mod.policy(chat)
    if not policy.welcome.enabled:
        return
    name = user.display_name or user.username or user.id
    group = chat.title or ctx.t("moderation.the_group")
    text = ctx.t("moderation.welcome.text", name=name, group=group)
    rules = await mod.rules_text(chat)
    if rules:
        text += "\n\n" + ctx.t("moderation.rules.header") + "\n" + rules
    sent = await mod.adapter.send(OutgoingMessage(chat=chat, text=text, silent=True))
    await mod.delete_later(chat, sent.message_id, policy.welcome.delete_after)


@router.button(PREFIX)
async def answer(ctx: Context) -> None:
    mod = ctx.services.require(Moderation)
    event = ctx.event
    assert isinstance(event, ButtonPressed)
    parts = event.data.split(":")
    if len(parts) != 3 or not parts[1].isdigit():
        await ctx.answer_button(ctx.t("moderation.captcha.expired"))
        return
    challenge = await mod.captchas.challenge(int(parts[1]))
    if challenge is None:
        await ctx.answer_button(ctx.t("moderation.captcha.expired"))
        return
    if event.user.id != challenge.user_id or event.platform != challenge.platform:
        await ctx.answer_button(ctx.t("moderation.captcha.not_yours"))
        return
    if parts[2] == challenge.answer:
        if await mod.captchas.close_challenge(challenge.id, "solved"):
            await ctx.answer_button(ctx.t("moderation.captcha.passed_toast"))
            await _passed(ctx, mod, challenge)
        return
    left = await mod.captchas.spend_attempt(challenge.id)
    if left > 0:
        await ctx.answer_button(ctx.t("moderation.captcha.wrong", left=left))
        return
    if await mod.captchas.close_challenge(challenge.id, "failed"):
        await ctx.answer_button(ctx.t("moderation.captcha.failed"))
        await fail(mod, challenge, "captcha_failed")


def _group(challenge: Challenge) -> ChatRef:
    return ChatRef(challenge.platform, challenge.chat_id, ChatKind.GROUP)


async def _passed(ctx: Context, mod: Moderation, challenge: Challenge) -> None:
    group = ctx.chat if ctx.chat.id == challenge.chat_id else _group(challenge)
    user = ctx.event.user
    target = Target(user, challenge.member_id)
    await remove_prompt(mod, challenge)
    if challenge.kind == "request":
        await mod.adapter.approve_join(group, user)
        await mod.audit(group, "approve_join", Actor.bot(), target, "captcha")
        await ctx.reply(ctx.t("moderation.captcha.request_approved"))
        return
    await mod.adapter.unrestrict(group, user)
    await mod.audit(group, "captcha_passed", Actor.bot(), target, "")
    await send_welcome(ctx, mod, group, user)
    if mod.feed is not None:
        await mod.feed(
            MemberJoined(
                update_key=f"{VERIFIED_PREFIX}{challenge.id}:{mod.clock.now().timestamp():.0f}",
                chat=group,
                user=user,
                at=mod.clock.now(),
            )
        )


async def fail(mod: Moderation, challenge: Challenge, reason: str) -> None:
    """Wrong too often or too late: remove the newcomer / decline the request."""
    group = _group(challenge)
    user = UserRef(challenge.platform, challenge.user_id)
    target = Target(user, challenge.member_id)
    await remove_prompt(mod, challenge)
    try:
        if challenge.kind == "request":
            await mod.adapter.decline_join(group, user)
            await mod.audit(group, "decline_join", Actor.bot(), target, reason)
        else:
            await mod.kick(group, target, Actor.bot(), reason)
    except DeliveryError as exc:  # they left, or the bot lost its rights
        log.info("could not remove %s from %s: %s", user.id, group.id, exc)


async def remove_prompt(mod: Moderation, challenge: Challenge) -> None:
    if challenge.prompt_chat_id and challenge.prompt_message_id:
        kind = ChatKind.GROUP if challenge.kind == "join" else ChatKind.PRIVATE
        try:
            await mod.adapter.delete(
                ChatRef(challenge.platform, challenge.prompt_chat_id, kind),
                challenge.prompt_message_id,
            )
        except DeliveryError as exc:
            log.info("captcha prompt already gone: %s", exc)


async def sweep(mod: Moderation, now: datetime) -> int:
    """Act on expired challenges and due deletions; returns how many things were done."""
    done = 0
    for challenge in await mod.captchas.claim_expired_challenges(now):
        await fail(mod, challenge, "captcha_timeout")
        done += 1
    for platform, chat_id, message_id in await mod.captchas.claim_due_deletions(now):
        try:
            await mod.adapter.delete(ChatRef(platform, chat_id, ChatKind.GROUP), message_id)
        except DeliveryError as exc:
            log.info("scheduled deletion of %s in %s failed: %s", message_id, chat_id, exc)
        done += 1
    return done
