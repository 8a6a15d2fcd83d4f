"""The gate's waiting line: deferred messages parked, then drained when due.

A message the gate defers (caps, gap, quiet hours, kill switch) is parked in
``push_pending`` and held in the backend; a scheduler job drains the member's
line at its time, best first. Messages whose turn passed while the bot was down
go out at the ``push.catch_up`` pace; too late ones are dropped as stale.
:class:`WaitingLine` is the part of :class:`~push.gate.Gate` that does this.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from itertools import groupby
from typing import NamedTuple

from bot.scheduling.catchup import CatchUp
from bot.scheduling.interface import Scheduler
from bot.services import Services
from push.backends import BackendUnavailable, GateBackend
from push.config import push_config
from push.contract import Category, Decision, Outcome, PushMessage
from push.rules import Reason, Waiting
from push.store import PendingMessage, PendingStore
from storage.records import MemberRecord

log = logging.getLogger("warmline.push")

DRAIN_TARGET = "push.jobs:drain_member"


class Submission(NamedTuple):
    """One message on its way through the gate (a tuple: one is made for every push)."""

    member: MemberRecord
    message: PushMessage
    category: Category
    priority: int
    expires_at: datetime | None
    seq: int
    queued: bool
    #: a deferred message waits in the gate's line (False: the caller retries it itself)
    park: bool = True
    #: it goes to the member's DM, where the platform's message window applies (False:
    #: another channel, such as a mass-send task)
    windowed: bool = True


class WaitingLine(ABC):
    """Parking and draining; the gate supplies the attempt and the record."""

    services: Services
    backend: GateBackend
    pending: PendingStore
    catch_up: CatchUp
    #: one drain per member at a time (only the scheduler's leader drains)
    _drain_locks: list[asyncio.Lock]

    @abstractmethod
    async def _attempt(self, sub: Submission) -> Decision:
        """Decide and deliver one message (the gate's whole check)."""

    @abstractmethod
    def _record(
        self,
        member_id: int | None,
        chat_key: str | None,
        message: PushMessage,
        category: Category,
        priority: int,
        decision: Decision,
        now: datetime,
    ) -> None:
        """Log one decision."""

    @abstractmethod
    async def _mark_outbox(self, sub: Submission, decision: Decision, now: datetime) -> None:
        """Settle a campaign message's outbox row."""

    async def drain(self, member_id: int) -> list[Decision]:
        """Offer the member's due waiting messages the free slot, best first."""
        async with self._drain_locks[member_id % len(self._drain_locks)]:
            return await self._drain(member_id)

    async def drain_due(self) -> list[Decision]:
        """Drain every member whose waiting messages are due, in member order (one pass
        over the waiting line: the simulator's hourly scheduler run)."""
        waiting = await self.pending.due_all(self.services.clock.now())
        members = await self.services.members.get_many(sorted({w.member_id for w in waiting}))
        decisions: list[Decision] = []
        for member_id, due in groupby(waiting, key=lambda w: w.member_id):
            async with self._drain_locks[member_id % len(self._drain_locks)]:
                decisions += await self._offer(member_id, members.get(member_id), list(due))
        return decisions

    async def _drain(self, member_id: int) -> list[Decision]:
        member = await self.services.members.get_by_id(member_id)
        due = await self.pending.due(member_id, self.services.clock.now())
        return await self._offer(member_id, member, due)

    async def _offer(
        self, member_id: int, member: MemberRecord | None, due: list[PendingMessage]
    ) -> list[Decision]:
        """Attempt a member's due waiting messages, best first."""
        decisions: list[Decision] = []
        now = self.services.clock.now()
        self.catch_up.refill(now)
        backlog = self.catch_up.cutoff(now)
        held = False
        for waiting in due:
            if member is None:
                await self.pending.remove(member_id, waiting.key)
                continue
            message = PushMessage(
                waiting.text,
                waiting.key,
                waiting.buttons,
                waiting.campaign_id,
            )
            sub = Submission(
                member,
                message,
                Category(waiting.category),
                waiting.priority,
                waiting.expires_at,
                waiting.seq,
                queued=True,
            )
            bound = push_config(self.services.config).lateness.get(waiting.category, timedelta(0))
            if bound > timedelta(0) and now > waiting.due_at + bound:
                decisions.append(await self._drop_stale(sub, now))
                continue
            if waiting.due_at <= backlog:  # left over from a downtime: at the catch-up pace
                if self.catch_up.left <= 0:
                    held = True
                    continue
                self.catch_up.take(1)
            decisions.append(await self._attempt(sub))
        if held and self.services.find(Scheduler) is not None:  # type: ignore[type-abstract]
            await self._schedule_drain(member_id, now + self.catch_up.spacing)
        return decisions

    async def _drop_stale(self, sub: Submission, now: datetime) -> Decision:
        """Its turn came while the bot was down, too long ago to make sense now."""
        decision = Decision(Outcome.DROPPED, Reason.STALE)
        self._record(sub.member.id, None, sub.message, sub.category, sub.priority, decision, now)
        await self._unqueue(sub)
        if sub.message.campaign_id is not None:
            await self._mark_outbox(sub, decision, now)
        return decision

    async def _unqueue(self, sub: Submission) -> None:
        """The waiting line no longer holds this message (sent, dropped or stale)."""
        await self.pending.remove(sub.member.id, sub.message.key)
        try:
            await self.backend.unhold(sub.member.id, sub.message.key)
        except BackendUnavailable:
            pass

    async def reschedule_waiting(self) -> int:
        """Make sure every waiting member has a drain job (start-up recovery, resume).

        Members whose turn passed while the bot was down (backlog) are drained at the
        ``push.catch_up`` pace, oldest first, not all at the same instant."""
        now = self.services.clock.now()
        members = sorted(await self.pending.next_due(), key=lambda pair: (pair[1], pair[0]))
        late = 0
        for member_id, due in members:
            at = max(due, now)
            if due <= self.catch_up.cutoff(now):
                at = now + late * self.catch_up.spacing
                late += 1
            await self._schedule_drain(member_id, at)
        return len(members)

    async def _park(self, sub: Submission, decision: Decision) -> None:
        assert decision.until is not None
        await self.pending.put(
            PendingMessage(
                member_id=sub.member.id,
                key=sub.message.key,
                category=sub.category.value,
                priority=sub.priority,
                seq=sub.seq,
                due_at=decision.until,
                expires_at=sub.expires_at,
                text=sub.message.text,
                buttons=sub.message.buttons,
                campaign_id=sub.message.campaign_id,
            )
        )
        waiting = Waiting(sub.message.key, decision.until.timestamp(), sub.priority, sub.seq)
        try:
            await self.backend.hold(sub.member.id, waiting)
        except BackendUnavailable:
            pass
        await self._schedule_drain(sub.member.id, decision.until)

    async def _schedule_drain(self, member_id: int, due: datetime) -> None:
        scheduler = self.services.find(Scheduler)  # type: ignore[type-abstract]
        if scheduler is None:
            log.warning("no scheduler: member %s waits until the next start-up", member_id)
            return
        key = f"push:drain:{member_id}:{int(due.timestamp())}"
        await scheduler.schedule(key, due, DRAIN_TARGET, {"member_id": member_id})
