"""Admin commands in DM: ``/stats`` and ``/members`` (paged, see
:mod:`handlers.admin_lists`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.router import Router
from handlers.admin_lists import label as catalog_label
from handlers.admin_lists import send_list
from push.config import push_config
from storage.admin_stats import AdminReader, Stats

router = Router("admin")


@dataclass(frozen=True, slots=True)
class StatsPage:
    """Where a feature shows the same figures as ``/stats`` on a page (insight's
    dashboard provides one); shared handlers name the slot, the feature fills it."""

    url: str


@router.command("stats", scope="private", admin_only=True, summary_key="commands.stats")
async def stats(ctx: Context) -> None:
    now = ctx.services.clock.now()
    zone = ZoneInfo(push_config(ctx.services.config).timezone)
    local = now.astimezone(zone)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    figures = await ctx.services.require(AdminReader).stats(today, now - timedelta(days=7))
    text = render_stats(ctx, figures, now)
    dashboard = _dashboard_page(ctx)
    if dashboard is not None:
        text += "\n\n" + ctx.t("admin.stats.dashboard", url=dashboard)
    await ctx.reply(text)


def _dashboard_page(ctx: Context) -> str | None:
    """The overview page of a feature that serves one (the insight dashboard), if any."""
    page = ctx.services.find(StatsPage)
    return page.url if page is not None else None


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
            label = catalog_label(ctx, "admin.stats.outcome", outcome)
            if reason:
                why = catalog_label(ctx, "push.reason", reason)
                until = figures.deferred_until.get(reason) if outcome == "deferred" else None
                if until is not None:
                    local = until.astimezone(ZoneInfo(push_config(ctx.services.config).timezone))
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
        f"  {catalog_label(ctx, 'moderation.log.actions', action)}: {count}"
        for action, count in moderation.items()
    ] or [none]
    return "\n".join(lines)


@router.command("members", scope="private", admin_only=True, summary_key="commands.members")
async def members(ctx: Context) -> None:
    await send_list(ctx, "members")
