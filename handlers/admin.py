"""Admin commands in DM: ``/stats``, and admin lists (``/members``,
``/modlog``) paged with ◀ ▶ buttons that edit the message in place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.events import Button, ButtonPressed, OutgoingMessage
from bot.router import Router
from storage.admin_stats import AdminReader, Stats
from storage.moderation import AuditEntry, ModerationStore

router = Router("admin")

PAGE_SIZE = 10
PAGE_PREFIX = "pg:"
#: one page of a list: (lines, total items)
Page = Callable[[Context, int, int], Awaitable[tuple[list[str], int]]]


@router.command("stats", scope="private", admin_only=True, summary_key="commands.stats")
async def stats(ctx: Context) -> None:
    now = ctx.services.clock.now()
    zone = ZoneInfo(ctx.services.config.push.timezone)
    local = now.astimezone(zone)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    figures = await ctx.services.require(AdminReader).stats(today, now - timedelta(days=7))
    text = render_stats(ctx, figures, now)
    dashboard = _dashboard_page(ctx)
    if dashboard is not None:
        text += "\n\n" + ctx.t("admin.stats.dashboard", url=dashboard)
    await ctx.reply(text)


def _dashboard_page(ctx: Context) -> str | None:
    """The insight dashboard's overview, when that feature serves one."""
    try:
        from insight.commands import DashboardLinks
    except ImportError:
        return None
    links = ctx.services.find(DashboardLinks)
    return links.page() if links is not None else None


def render_stats(ctx: Context, figures: Stats, now: datetime) -> str:
    m = figures.members
    none = "  " + ctx.t("admin.list.empty")
    lines = [
        ctx.t("admin.stats.header", at=now.strftime("%Y-%m-%d %H:%M UTC")),
        ctx.t(
            "admin.stats.members",
            total=m.total,
            today=m.new_today,
            week=m.new_week,
            started=m.started_bot,
            opted_out=m.opted_out,
        ),
        "",
        ctx.t("admin.stats.sources"),
    ]
    lines += [
        f"  {source if source != '-' else ctx.t('admin.stats.no_source')}: {count}"
        for source, count in figures.sources
    ] or [none]
    lines.append("")
    if figures.stages is None:
        lines.append(ctx.t("admin.stats.no_flows"))
    else:
        lines.append(ctx.t("admin.stats.stages"))
        lines += [f"  {stage}: {count}" for stage, count in figures.stages] or [none]
    lines.append("")
    if figures.pushes_today is None or figures.pushes_week is None:
        lines.append(ctx.t("admin.stats.no_push"))
    else:
        lines.append(ctx.t("admin.stats.pushes"))
        keys = sorted(set(figures.pushes_today) | set(figures.pushes_week))
        for outcome, reason in keys:
            label = _label(ctx, "admin.stats.outcome", outcome)
            if reason:
                why = _label(ctx, "push.reason", reason)
                until = figures.deferred_until.get(reason) if outcome == "deferred" else None
                if until is not None:
                    local = until.astimezone(ZoneInfo(ctx.services.config.push.timezone))
                    why = ctx.t("admin.stats.until", reason=why, until=f"{local:%m-%d %H:%M}")
                label += f" ({why})"
            today = figures.pushes_today.get((outcome, reason), 0)
            week = figures.pushes_week.get((outcome, reason), 0)
            lines.append(ctx.t("admin.stats.push_line", label=label, today=today, week=week))
        if not keys:
            lines.append(none)
    lines += ["", ctx.t("admin.stats.moderation")]
    moderation = figures.moderation_week
    lines += [
        f"  {_label(ctx, 'moderation.log.actions', action)}: {count}"
        for action, count in moderation.items()
    ] or [none]
    return "\n".join(lines)


def _label(ctx: Context, prefix: str, value: str) -> str:
    """The catalog's words for a stored code; the code itself if it is new to the catalog."""
    key = f"{prefix}.{value}"
    return ctx.t(key) if ctx.services.catalog.has(key) else value


# -- paged lists --------------------------------------------------------------
async def _members_page(ctx: Context, offset: int, limit: int) -> tuple[list[str], int]:
    rows, total = await ctx.services.require(AdminReader).members_page(offset, limit)
    lines = [
        ctx.t(
            "admin.members.line",
            name=row.display_name or row.user_id,
            username=f" @{row.username}" if row.username else "",
            id=row.user_id,
            source=row.source or ctx.t("admin.stats.no_source"),
            joined=row.joined_at.strftime("%Y-%m-%d"),
        )
        for row in rows
    ]
    return lines, total


async def _modlog_page(ctx: Context, offset: int, limit: int) -> tuple[list[str], int]:
    store = ctx.services.require(ModerationStore)
    entries, total = await store.recent_actions(ctx.chat.platform, offset, limit)
    return [_modlog_line(ctx, entry) for entry in entries], total


def _modlog_line(ctx: Context, entry: AuditEntry) -> str:
    """One audit entry in words: the group by its title, people by name, never a bare id."""
    former = ctx.t("admin.modlog.former_member")
    values = {
        "at": entry.at.strftime("%m-%d %H:%M"),
        "action": _label(ctx, "moderation.log.actions", entry.action),
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


#: actions about the group itself, not about one member
_NO_TARGET = frozenset({"setrules"})


def _list(name: str) -> Page | None:
    if name == "members":
        return _members_page
    if name == "modlog":
        return _modlog_page
    return None


async def _page(ctx: Context, name: str, page: int) -> OutgoingMessage:
    provider = _list(name)
    assert provider is not None
    lines, total = await provider(ctx, page * PAGE_SIZE, PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    header = ctx.t(f"admin.{name}.header", count=total, page=page + 1, pages=pages)
    body = "\n".join(lines) if lines else ctx.t("admin.list.empty")
    row: list[Button] = []
    if page > 0:
        row.append(Button(ctx.t("admin.list.previous"), data=f"{PAGE_PREFIX}{name}:{page - 1}"))
    if page + 1 < pages:
        row.append(Button(ctx.t("admin.list.next"), data=f"{PAGE_PREFIX}{name}:{page + 1}"))
    return OutgoingMessage(
        chat=ctx.chat, text=f"{header}\n\n{body}", buttons=(tuple(row),) if row else ()
    )


async def _send_list(ctx: Context, name: str) -> None:
    assert ctx.message is not None and ctx.message.command is not None
    argv = ctx.message.command.argv
    if len(argv) > 1 or (argv and (not argv[0].isdigit() or int(argv[0]) < 1)):
        await ctx.reply(ctx.t(f"admin.{name}.usage"))
        return
    page = int(argv[0]) - 1 if argv else 0
    await ctx.services.adapter.send(await _page(ctx, name, min(page, 100_000)))


@router.command("members", scope="private", admin_only=True, summary_key="commands.members")
async def members(ctx: Context) -> None:
    await _send_list(ctx, "members")


@router.command("modlog", scope="private", admin_only=True, summary_key="commands.modlog")
async def modlog(ctx: Context) -> None:
    await _send_list(ctx, "modlog")


@router.button(PAGE_PREFIX)
async def turn_page(ctx: Context) -> None:
    event = ctx.event
    assert isinstance(event, ButtonPressed)
    if not ctx.is_bot_admin:
        await ctx.answer_button(ctx.t("errors.admin_only"))
        return
    name, _, number = event.data.removeprefix(PAGE_PREFIX).partition(":")
    if _list(name) is None or not number.isdigit():
        await ctx.answer_button()
        return
    message = await _page(ctx, name, int(number))
    await ctx.answer_button()
    if event.message_id is not None and ctx.services.adapter.capabilities.edit:
        await ctx.services.adapter.edit(ctx.chat, event.message_id, message)
    else:
        await ctx.services.adapter.send(message)
