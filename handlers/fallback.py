"""Last router: an unknown command in a DM gets a pointer to /help."""

from __future__ import annotations

from bot.context import Context
from bot.router import Router

router = Router("fallback")


def _is_command(ctx: Context) -> bool:
    message = ctx.message
    return message is not None and message.command is not None


@router.message(_is_command, scope="private")
async def unknown_command(ctx: Context) -> None:
    assert ctx.message is not None and ctx.message.command is not None
    await ctx.reply(ctx.t("errors.unknown_command", command=ctx.message.command.name))
