"""Opt-out for members (/stop, /resume); kill switch and broadcasts for admins."""

from __future__ import annotations

from datetime import timedelta

from bot.context import Context
from bot.events import Button, ButtonPressed
from bot.router import Router
from push.campaigns import Campaigns
from push.gate import Gate
from push.handlers.segments import error_text
from push.mass import able_mass
from push.report import ChatProgress, describe
from push.segments import UnknownSegment
from storage.confirm_codes import ConfirmCodes
from storage.segment_filter import SegmentError, is_filter, parse

router = Router("push")

CONFIRM = "push:bc:ok:"
CANCEL = "push:bc:no:"
#: a typed confirmation works this long after the preview
CODE_LIFETIME = timedelta(minutes=10)


@router.command("stop", scope="private", summary_key="push.commands.stop")
async def stop(ctx: Context) -> None:
    assert ctx.member is not None
    if ctx.member.opted_out:
        await ctx.reply(ctx.t("push.already_stopped"))
        return
    ctx.member = await ctx.services.members.update(ctx.member.id, opted_out=True)
    await ctx.services.interactions.record(ctx.member.id, "opt_out", ctx.event.at, ctx.chat.id)
    await ctx.reply(ctx.t("push.stopped"))


@router.command("resume", scope="private", summary_key="push.commands.resume")
async def resume(ctx: Context) -> None:
    assert ctx.member is not None
    if not ctx.member.opted_out:
        await ctx.reply(ctx.t("push.not_stopped"))
        return
    ctx.member = await ctx.services.members.update(ctx.member.id, opted_out=False)
    await ctx.services.interactions.record(ctx.member.id, "opt_in", ctx.event.at, ctx.chat.id)
    await ctx.reply(ctx.t("push.resumed"))


@router.command("pause", admin_only=True, summary_key="push.commands.pause")
async def pause(ctx: Context) -> None:
    gate = ctx.services.require(Gate)
    if await gate.is_paused():
        await ctx.reply(ctx.t("push.already_paused"))
        return
    await gate.pause(by=ctx.event.user.id)
    await ctx.reply(ctx.t("push.paused"))


@router.command("resume_all", admin_only=True, summary_key="push.commands.resume_all")
async def resume_all(ctx: Context) -> None:
    gate = ctx.services.require(Gate)
    if not await gate.is_paused():
        await ctx.reply(ctx.t("push.not_paused"))
        return
    members = await gate.resume(by=ctx.event.user.id)
    await ctx.reply(ctx.t("push.resumed_all", members=members, count=members))


@router.command(
    "broadcast", admin_only=True, summary_key="push.commands.broadcast", works_in="private"
)
async def broadcast(ctx: Context) -> None:
    campaigns = ctx.services.require(Campaigns)
    if not ctx.chat.is_private:
        await ctx.reply(ctx.t("push.broadcast.private_only"))
        return
    assert ctx.message is not None and ctx.message.command is not None
    # the segment is one word (a name, ``all`` or one filter term); the text may span lines
    segment, _, text = ctx.message.command.args.strip().partition(" ")
    if "\n" in segment:
        segment, _, first = segment.partition("\n")
        text = f"{first}\n{text}" if text else first
    text = text.strip()
    if _starts_with_a_term(text):
        await ctx.reply(ctx.t("segment.one_term", segment=segment, text=text.split()[0]))
        return
    if not segment or not text:
        names = ", ".join(await campaigns.segments.known())
        await ctx.reply(ctx.t("segment.broadcast_usage", names=names))
        return
    try:
        preview = await campaigns.draft(
            segment, text, created_by=ctx.event.user.id, notify_chat=ctx.chat.id
        )
    except UnknownSegment as unknown:
        names = ", ".join(unknown.known)
        await ctx.reply(ctx.t("segment.unknown", segment=segment, names=names))
        return
    except SegmentError as error:
        await ctx.reply(error_text(ctx, error))
        return
    shown = ctx.t(
        "push.broadcast.preview",
        id=preview.campaign_id,
        segment=preview.described,
        audience=preview.audience,
        count=preview.audience,
        plan=describe(ctx.services, ctx.lang, preview.plan, preview.plan.due),
        text=text,
    )
    if able_mass(ctx.services.adapter) is not None:
        shown = f"{shown}\n\n{ctx.t('push.broadcast.mass_note')}"
    if not ctx.services.adapter.buttons_in(ctx.chat):  # no button to press: a code to type
        codes = ctx.services.require(ConfirmCodes)
        expires = ctx.services.clock.now() + CODE_LIFETIME
        code = await codes.issue(CONFIRM + preview.campaign_id, ctx.event.user.id, expires)
        await ctx.reply(f"{shown}\n\n{ctx.t('push.broadcast.confirm_by_code', code=code)}")
        return
    await ctx.reply(
        shown,
        [
            [
                Button(ctx.t("push.broadcast.confirm"), data=CONFIRM + preview.campaign_id),
                Button(ctx.t("push.broadcast.cancel"), data=CANCEL + preview.campaign_id),
            ]
        ],
    )


@router.command("confirm", admin_only=True, summary_key="push.commands.confirm")
async def confirm_by_code(ctx: Context) -> None:
    """``/confirm <code>``: the broadcast preview's button, typed."""
    assert ctx.message is not None and ctx.message.command is not None
    code = ctx.message.command.args.strip()
    if not code:
        await ctx.reply(ctx.t("push.broadcast.code_usage"))
        return
    codes = ctx.services.require(ConfirmCodes)
    action = await codes.redeem(code, ctx.event.user.id, ctx.services.clock.now())
    if action is None or not action.startswith(CONFIRM):
        await ctx.reply(ctx.t("push.broadcast.bad_code"))
        return
    await _launch(ctx, action.removeprefix(CONFIRM))


def _starts_with_a_term(text: str) -> bool:
    """``/broadcast tag:vip lang:zh Hi`` would send "lang:zh Hi" to every VIP: a second
    filter term is refused rather than taken as the start of the message."""
    first = text.split(maxsplit=1)[0] if text else ""
    if not is_filter(first):
        return False
    try:
        parse(first)
    except SegmentError:
        return False
    return True


@router.button("push:bc:")
async def broadcast_button(ctx: Context) -> None:
    assert isinstance(ctx.event, ButtonPressed)
    if not ctx.is_bot_admin:
        await ctx.answer_button(ctx.t("errors.admin_only"))
        return
    campaigns = ctx.services.require(Campaigns)
    data = ctx.event.data
    campaign_id = data.removeprefix(CONFIRM).removeprefix(CANCEL)
    await ctx.answer_button()
    if data.startswith(CANCEL):
        if await campaigns.store.set_status(campaign_id, "cancelled", expect="draft"):
            await ctx.reply(ctx.t("push.broadcast.cancelled", id=campaign_id))
        else:
            await ctx.reply(ctx.t("push.broadcast.not_draft", id=campaign_id))
        return
    await _launch(ctx, campaign_id)


async def _launch(ctx: Context, campaign_id: str) -> None:
    """Confirm a draft and send it; progress goes to the chat the admin confirmed in."""
    campaigns = ctx.services.require(Campaigns)
    if not await campaigns.confirm(campaign_id):
        await ctx.reply(ctx.t("push.broadcast.not_draft", id=campaign_id))
        return
    campaigns.launch(campaign_id, ChatProgress(ctx.services, ctx.chat, ctx.lang))
