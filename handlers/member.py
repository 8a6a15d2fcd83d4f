"""Member commands in DM: language, time zone, and the member's own data
(``/mydata`` exports it, ``/forgetme`` erases it after a confirmation)."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.context import Context
from bot.events import Button, ButtonPressed, OutgoingDocument
from bot.i18n import LANGUAGE_NAMES, SUPPORTED
from bot.router import Router
from push.config import push_config
from storage.privacy import MemberData

router = Router("member")

#: a /forgetme confirmation button older than this is not honoured
CONFIRM_WINDOW = timedelta(minutes=15)
FORGET_PREFIX = "forget:"


@router.command("lang", scope="private", summary_key="commands.lang")
async def set_language(ctx: Context) -> None:
    assert ctx.member is not None and ctx.message is not None and ctx.message.command is not None
    argv = ctx.message.command.argv
    choice = argv[0].lower() if len(argv) == 1 else ""
    if choice not in SUPPORTED:
        languages = ", ".join(f"{code} ({LANGUAGE_NAMES[code]})" for code in SUPPORTED)
        usage = ctx.t("member.lang.usage", current=ctx.lang)
        if choice:
            usage = ctx.t("member.lang.unknown", choice=argv[0][:16], languages=languages)
            usage += "\n" + ctx.t("member.lang.usage", current=ctx.lang)
        await ctx.reply(usage)
        return
    ctx.member = await ctx.services.members.update(ctx.member.id, language=choice)
    await ctx.reply(ctx.t("member.lang.set"))


@router.command("tz", scope="private", summary_key="commands.tz")
async def set_time_zone(ctx: Context) -> None:
    assert ctx.member is not None and ctx.message is not None and ctx.message.command is not None
    argv = ctx.message.command.argv
    if len(argv) != 1:
        current = ctx.member.time_zone or push_config(ctx.services.config).timezone
        await ctx.reply(ctx.t("member.tz.usage", current=current))
        return
    name = argv[0][:64]
    zone = _zone(name)
    if zone is None:
        await ctx.reply(ctx.t("member.tz.unknown") + "\n" + ctx.t("member.tz.usage_short"))
        return
    ctx.member = await ctx.services.members.update(ctx.member.id, time_zone=zone.key)
    local = ctx.services.clock.now().astimezone(zone)
    await ctx.reply(ctx.t("member.tz.set", zone=zone.key, time=local.strftime("%H:%M")))


def _zone(name: str) -> ZoneInfo | None:
    """An IANA zone like ``Asia/Shanghai``; None for anything else (paths, typos)."""
    if "/" not in name or ".." in name or name.startswith("/") or not name.isascii():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@router.command("mydata", scope="private", summary_key="commands.mydata")
async def my_data(ctx: Context) -> None:
    assert ctx.member is not None
    document = await ctx.services.require(MemberData).export(ctx.member)
    content = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).encode()
    await ctx.services.adapter.send_document(
        OutgoingDocument(
            chat=ctx.services.adapter.dm(ctx.event.user),
            filename="my-data.json",
            content=content,
            caption=ctx.t("member.mydata.caption"),
        )
    )


@router.command("forgetme", scope="private", summary_key="commands.forgetme")
async def forget_me(ctx: Context) -> None:
    await ctx.reply(
        ctx.t("member.forget.confirm"),
        [
            [
                Button(ctx.t("member.forget.yes"), data=f"{FORGET_PREFIX}yes"),
                Button(ctx.t("member.forget.no"), data=f"{FORGET_PREFIX}no"),
            ]
        ],
    )


@router.button(FORGET_PREFIX)
async def forget_confirmed(ctx: Context) -> None:
    event = ctx.event
    assert isinstance(event, ButtonPressed)
    if not ctx.chat.is_private or ctx.chat.id != event.user.id or ctx.member is None:
        await ctx.answer_button(ctx.t("member.forget.not_here"))
        return
    if event.data != f"{FORGET_PREFIX}yes":
        await ctx.answer_button()
        await ctx.reply(ctx.t("member.forget.cancelled"))
        return
    issued = ctx.data.get("button_issued_at")
    if issued is None or ctx.services.clock.now() - issued > CONFIRM_WINDOW:
        await ctx.answer_button(ctx.t("member.forget.stale"))
        return
    report = await ctx.services.require(MemberData).forget(ctx.member)
    await ctx.answer_button()
    kept = [ctx.t(key) for key in report.kept]
    text = ctx.t("member.forget.done")
    text += "\n\n" + (
        ctx.t("member.forget.kept") + "\n" + "\n".join(f"• {line}" for line in kept)
        if kept
        else ctx.t("member.forget.nothing_kept")
    )
    await ctx.reply(text)
