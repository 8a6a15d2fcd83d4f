"""Scheduler targets of the push gate (referenced by name in stored jobs)."""

from __future__ import annotations

from bot.events import ChatKind, ChatRef
from bot.services import Services
from push.campaigns import Campaigns, ProgressHook, ResumeHook
from push.gate import Gate
from push.report import ChatProgress
from push.store import CampaignRow


async def drain_member(services: Services, member_id: int) -> None:
    """A deferred message of this member is due: offer it the free slot."""
    await services.require(Gate).drain(member_id)


async def resume_campaigns(services: Services) -> None:
    """Take over running campaigns nobody is sending (kept for jobs stored by older
    versions: every worker now does this on its own, see ``Campaigns.watch``)."""
    await services.require(Campaigns).adopt_orphans(resume_hook(services))


def resume_hook(services: Services) -> ResumeHook:
    """Progress of a campaign taken over goes to the admin who started it."""

    def hook(row: CampaignRow) -> ProgressHook | None:
        if not row.notify_chat:
            return None
        chat = ChatRef(services.adapter.platform, row.notify_chat, ChatKind.PRIVATE)
        return ChatProgress(services, chat, None)

    return hook
