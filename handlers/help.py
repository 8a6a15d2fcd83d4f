"""``/help``: list the commands this member may use, from the routers themselves."""

from __future__ import annotations

from bot.context import Context
from bot.router import CommandIndex, Router

router = Router("help")


@router.command("help", summary_key="commands.help")
async def show_help(ctx: Context) -> None:
    index = ctx.services.find(CommandIndex) or CommandIndex(())
    member_lines: list[str] = []
    admin_lines: list[str] = []
    for command, summary_key, admin_only in index.entries:
        line = ctx.t("help.line", command=command, summary=ctx.t(summary_key))
        (admin_lines if admin_only else member_lines).append(line)
    lines = [ctx.t("help.header"), *member_lines]
    if admin_lines and ctx.is_bot_admin:
        lines += ["", ctx.t("help.admin"), *admin_lines]
    await ctx.reply("\n".join(lines))
