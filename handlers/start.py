"""``/start``: greet the member and remember where they came from."""

from __future__ import annotations

from bot.context import Context
from bot.router import Router

router = Router("start")


def parse_payload(payload: str) -> tuple[str | None, str | None]:
    """Deep-link payload → (acquisition source, referrer code).

    ``src-packagecard`` → source ``packagecard``; ``ref-AB12`` → referrer
    ``AB12`` with source ``referral``; anything else is taken as the source.
    """
    payload = payload.strip()
    if not payload:
        return None, None
    if payload.startswith("ref-") and len(payload) > 4:
        return "referral", payload[4:64]
    if payload.startswith("src-") and len(payload) > 4:
        return payload[4:68], None
    return payload[:64], None


@router.command("start", scope="private", summary_key="commands.start")
async def start(ctx: Context) -> None:
    assert ctx.member is not None and ctx.message is not None and ctx.message.command is not None
    services = ctx.services
    source, referrer = parse_payload(ctx.message.command.args)
    first_time = not ctx.member.started_bot
    if first_time:
        ctx.member = await services.members.mark_started(ctx.member)
    if ctx.member.opted_out:  # /start also resumes promotional pushes (push gate opt-out)
        ctx.member = await services.members.update(ctx.member.id, opted_out=False)
    await services.members.set_source_once(ctx.member.id, source, referrer)
    await services.interactions.record(
        ctx.member.id,
        "start",
        ctx.event.at,
        chat_id=ctx.chat.id,
        detail={"payload": ctx.message.command.args, "source": source, "referrer": referrer},
        member=None if source or referrer else ctx.member,  # set_source_once changed it
    )
    name = ctx.event.user.display_name or ctx.event.user.username or ctx.t("start.friend")
    key = "start.greeting" if first_time else "start.welcome_back"
    await ctx.reply(ctx.t(key, name=name))
