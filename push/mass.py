"""Broadcasts on platforms whose broadcasts are mass-send tasks (:class:`MassSender`).

The gate still decides for every member (opt-out, caps, the kill switch), and
the platform's own per-member cap (``mass_limit``) is a cap of its own:
members over it are dropped with reason ``platform_cap`` before any task is
made. A task goes out once, so whom the gate holds back (a cap, the gap) is
left out of it and recorded as dropped with the gate's reason. The others go in one call; their outbox rows wait (``waiting``/``mass``)
until a person confirms the task in the platform's client, and their outcomes
are read back every ``push.campaigns.mass_poll``: ``sent``, the platform's cap
(``platform_cap``, never counted as sent) or ``unreachable``. Rows still
waiting after ``mass_wait`` are dropped as ``not_confirmed``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.adapter import MassSender
from bot.outbound import Outbound
from bot.services import Services
from push.batch_store import MASS, WAITING, mass_counts
from push.contract import Category, Outcome, PushMessage
from push.gate import Gate
from push.rules import Reason
from push.store import CampaignStore, members_by_ids
from storage.database import Database
from storage.push_tables import PushOutbox
from storage.records import MemberRecord

log = logging.getLogger("warmline.push.mass")

NOT_CONFIRMED = "not_confirmed"
#: members decided per page of the outbox (all of them still go in one ``mass_send``)
PAGE = 500
FINAL = {"sent": ("sent", MASS), "platform_cap": ("dropped", Reason.PLATFORM_CAP)}


def able_mass(outbound: Outbound) -> MassSender | None:
    """The platform behind the core's outbound door, when it sends broadcasts as tasks."""
    return outbound.inner if isinstance(outbound.inner, MassSender) else None


class MassBroadcast:
    def __init__(
        self,
        services: Services,
        db: Database,
        gate: Gate,
        store: CampaignStore,
        sender: MassSender,
        poll: timedelta,
        wait: timedelta,
    ) -> None:
        self.services = services
        self._db = db
        self._gate = gate
        self._store = store
        self._sender = sender
        self._poll = poll
        self._wait = wait

    async def run(self, campaign_id: str, message: PushMessage, category: Category) -> None:
        """Decide for the pending audience page by page, hand everyone chosen to the
        platform in one ``mass_send`` (so each sender confirms one task, not one per
        page), then follow its outcomes."""
        chosen: dict[str, MemberRecord] = {}
        after = 0
        while batch := await self._store.pending(campaign_id, after=after, limit=PAGE):
            members = await members_by_ids(self._db, batch)
            chosen.update(await self._choose(campaign_id, message, category, members, set(batch)))
            after = batch[-1]
        if chosen:
            await self._hand_over(campaign_id, message, chosen)
        await self._follow(campaign_id)

    async def _choose(
        self,
        campaign_id: str,
        message: PushMessage,
        category: Category,
        members: list[MemberRecord],
        ids: set[int],
    ) -> dict[str, MemberRecord]:
        """The members of one page who go in the task, by dm chat id; the others are
        recorded as dropped with their reason."""
        now = self.services.clock.now()
        for gone in ids - {m.id for m in members}:
            await self._store.mark(campaign_id, gone, "dropped", "unknown", now)
        over = await self._over_cap([m.id for m in members], now)
        chosen: dict[str, MemberRecord] = {}
        for member in members:
            if member.id in over:
                await self._store.mark(campaign_id, member.id, "dropped", Reason.PLATFORM_CAP, now)
                continue
            decision = await self._gate.check(member, message, category, windowed=False)
            if decision.outcome is not Outcome.SENT:
                # a task goes out once: whom the gate holds back is not in it
                await self._store.mark(campaign_id, member.id, "dropped", decision.reason, now)
                continue
            chosen[self.services.adapter.dm(member.user).id] = member
        return chosen

    async def _hand_over(
        self, campaign_id: str, message: PushMessage, chosen: dict[str, MemberRecord]
    ) -> None:
        chats = [self.services.adapter.dm(m.user) for m in chosen.values()]
        left_out = await self._sender.mass_send(campaign_id, chats, message.text)
        missing = {chat.id for chat in left_out}
        now = self.services.clock.now()
        for chat_id, member in chosen.items():
            state, reason = ("dropped", "unreachable") if chat_id in missing else (WAITING, MASS)
            await self._store.mark(campaign_id, member.id, state, reason, now)

    async def _over_cap(self, member_ids: list[int], now: datetime) -> set[int]:
        """Members who already had the platform's allowance of mass messages (from
        broadcasts or the daily batch of window-refused pushes)."""
        limit = self._sender.mass_limit
        counts = await mass_counts(self._db, member_ids, limit.period, now)
        return {member_id for member_id, n in counts.items() if n >= limit.count}

    async def _follow(self, campaign_id: str) -> None:
        """Read outcomes back until nothing waits, or staff never confirmed in time."""
        deadline = self.services.clock.now() + self._wait
        while True:
            waiting = await self._waiting(campaign_id)
            if not waiting:
                return
            outcomes = await self._sender.mass_outcomes(campaign_id)
            now = self.services.clock.now()
            for chat_id, member_id in waiting.items():
                outcome = outcomes.get(chat_id, WAITING)
                if outcome == WAITING and now < deadline:
                    continue
                state, reason = FINAL.get(outcome, ("dropped", outcome))
                if outcome == WAITING:
                    state, reason = "dropped", NOT_CONFIRMED
                await self._store.mark(campaign_id, member_id, state, reason, now)
            if now >= deadline:
                return
            await asyncio.sleep(self._poll.total_seconds())

    async def _waiting(self, campaign_id: str) -> dict[str, int]:
        """dm chat id → member id of the rows still waiting for staff."""
        c = PushOutbox.__table__.c
        stmt = select(c.member_id).where(c.campaign_id == campaign_id, c.state == WAITING)
        async with self._db.session() as session:
            ids = list((await session.execute(stmt)).scalars())
        members = await members_by_ids(self._db, ids)
        return {self.services.adapter.dm(m.user).id: m.id for m in members}
