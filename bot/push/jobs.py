"""Scheduler targets of the push gate (referenced by name in stored jobs)."""

from __future__ import annotations

import logging

from bot.events import ChatKind, ChatRef
from bot.push.campaigns import Campaigns
from bot.push.gate import Gate
from bot.push.report import ChatProgress
from bot.services import Services

log = logging.getLogger("warmline.push.campaigns")


async def drain_member(services: Services, member_id: int) -> None:
    """A deferred message of this member is due: offer it the free slot."""
    await services.require(Gate).drain(member_id)


async def resume_campaigns(services: Services) -> None:
    """After a restart, the scheduler's leader continues every running campaign."""
    campaigns = services.require(Campaigns)
    for campaign_id in await campaigns.store.running():
        row = await campaigns.store.get(campaign_id)
        hook = None
        if row is not None and row.notify_chat:
            chat = ChatRef(services.adapter.platform, row.notify_chat, ChatKind.PRIVATE)
            hook = ChatProgress(services, chat, None)
        log.info("resuming campaign %s from its outbox", campaign_id)
        campaigns.launch(campaign_id, hook)
