"""``/dashboard`` in a bot admin's DM: a one-time login link to the dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config.model import WarmlineConfig
from bot.context import Context
from bot.router import Router
from insight.config import insight_config
from insight.dashboard import PREFIX
from insight.dashboard.sessions import SessionStore

router = Router("insight")


@dataclass(frozen=True, slots=True)
class DashboardLinks:
    """Makes dashboard URLs; registered as a service when the dashboard is on."""

    sessions: SessionStore
    base_url: str

    @classmethod
    def of(cls, config: WarmlineConfig, sessions: SessionStore) -> DashboardLinks:
        dashboard = insight_config(config).dashboard
        base = dashboard.public_url or f"http://{dashboard.listen}"
        return cls(sessions, base.rstrip("/") + PREFIX)

    def page(self, name: str = "") -> str:
        """A page's address, e.g. for ``/stats`` to point at the same figures."""
        return f"{self.base_url}/{name}"

    async def login_link(self, username: str) -> str:
        return f"{self.base_url}/login/link/{await self.sessions.create_link(username)}"


@router.command("dashboard", scope="private", admin_only=True, summary_key="commands.dashboard")
async def dashboard_link(ctx: Context) -> None:
    links = ctx.services.find(DashboardLinks)
    if links is None:
        await ctx.reply(ctx.t("insight.dashboard_off"))
        return
    who = ctx.event.user.username or ctx.event.user.id
    minutes = int(
        insight_config(ctx.services.config).dashboard.login_link_ttl.total_seconds() // 60
    )
    url = await links.login_link(f"{who} (bot admin)")
    await ctx.reply(ctx.t("insight.login_link", url=url, minutes=minutes, count=minutes))
