"""``/help``: list the commands this member may use here, from the routers themselves.

In a group only what works in a group is listed; in a DM, what works in a DM,
then the group commands apart, so nobody is shown a command that would refuse them.
"""

from __future__ import annotations

from bot.context import Context
from bot.router import CommandIndex, IndexedCommand, Router

router = Router("help")


@router.command("help", summary_key="commands.help")
async def show_help(ctx: Context) -> None:
    index = ctx.services.find(CommandIndex) or CommandIndex(())
    private = ctx.chat.is_private
    allowed = [e for e in index.entries if not e.admin_only or ctx.is_bot_admin]
    here = [e for e in allowed if e.works_for(private)]
    lines = [ctx.t("help.header"), *_lines(ctx, [e for e in here if not e.admin_only])]
    admin = [e for e in here if e.admin_only]
    if admin:
        lines += ["", ctx.t("help.admin"), *_lines(ctx, admin)]
    elsewhere = [e for e in allowed if private and not e.works_for(private)]
    if elsewhere:
        lines += ["", ctx.t("help.in_groups"), *_lines(ctx, elsewhere)]
    await ctx.reply("\n".join(lines))


def _lines(ctx: Context, entries: list[IndexedCommand]) -> list[str]:
    return [ctx.t("help.line", command=e.command, summary=ctx.t(e.summary_key)) for e in entries]
