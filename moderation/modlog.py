"""``/modlog``: the moderation audit log as a paged admin list, in words."""

from __future__ import annotations

from bot.context import Context
from bot.router import Router
from handlers.admin_lists import label, send_list
from moderation.store import AuditEntry, ModerationStore

router = Router("modlog")

#: actions about the group itself, not about one member
_NO_TARGET = frozenset({"setrules"})


@router.command("modlog", scope="private", admin_only=True, summary_key="commands.modlog")
async def modlog(ctx: Context) -> None:
    await send_list(ctx, "modlog")


async def modlog_page(ctx: Context, offset: int, limit: int) -> tuple[list[str], int]:
    store = ctx.services.require(ModerationStore)
    entries, total = await store.recent_actions(ctx.chat.platform, offset, limit)
    return [_line(ctx, entry) for entry in entries], total


def _line(ctx: Context, entry: AuditEntry) -> str:
    """One audit entry in words: the group by its title, people by name, never a bare id."""
    former = ctx.t("admin.modlog.former_member")
    values = {
        "at": entry.at.strftime("%m-%d %H:%M"),
        "action": label(ctx, "moderation.log.actions", entry.action),
        "actor": ctx.t("admin.modlog.the_bot")
        if entry.actor_user_id == "bot"
        else entry.actor_name or entry.actor_user_id or former,
        "chat": entry.chat_title or ctx.t("admin.modlog.unnamed_group"),
        "reason": entry.reason or ctx.t("admin.modlog.no_reason"),
    }
    if entry.action in _NO_TARGET:
        return ctx.t("admin.modlog.line_no_target", **values)
    target = entry.target_name or entry.target_user_id or former
    return ctx.t("admin.modlog.line", target=target, **values)
