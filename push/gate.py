"""The one entry point for proactive messages: decide, deliver, record, defer.

Order of checks for one message (README "Push gate" has the full semantics):
unreachable → opt-out → expired → quiet hours → (backend, atomic) kill switch →
duplicate key → waiting line → caps and gap. A deferred message is parked in
``push_pending`` and a scheduler job drains the member's waiting line when it
is due, highest priority first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.errors import DeliveryError, RecipientUnreachable, TransientError
from bot.events import ChatRef, OutgoingMessage
from bot.scheduling.catchup import shared_catch_up
from bot.services import Services
from push import preview
from push.backends import BackendUnavailable, GateBackend
from push.campaign_lease import CampaignLeases
from push.config import push_config
from push.contract import Category, Decision, Outcome, PushMessage
from push.pacing import PacedSender
from push.recorder import DecisionRecorder
from push.rules import Reason, Rules, Verdict, precheck
from push.store import CampaignStore, DecisionRow, PendingStore
from push.waiting import Submission, WaitingLine
from push.windows import window_verdict
from storage.knowledge_store import KnowledgeStore
from storage.records import MemberRecord

log = logging.getLogger("warmline.push")

#: how soon a message is retried after the backend or the platform failed
RETRY_AFTER = timedelta(minutes=1)
#: a campaign send another worker took over (it lost its lease): nothing recorded here
_SUPERSEDED = "superseded"


class _Records(Protocol):
    def record(self, row: DecisionRow) -> None: ...


class _Batch(Protocol):
    """Takes what the platform's window refuses into a daily mass send (push.batch)."""

    async def take(self, sub: Submission, verdict: Verdict, now: datetime) -> Verdict: ...


class Gate(WaitingLine):
    """:class:`~push.contract.PushGate` with the scheduler-driven waiting line
    (:mod:`push.waiting`)."""

    def __init__(
        self,
        services: Services,
        backend: GateBackend,
        rules: Rules,
        pending: PendingStore,
        recorder: DecisionRecorder,
        sender: PacedSender,
        campaigns: CampaignStore,
    ) -> None:
        self.services = services
        self.backend = backend
        self.rules = rules
        self.pending = pending
        #: anything with ``record(row)``; features may wrap it to observe every decision
        self.recorder: _Records = recorder
        self._recorder = recorder
        self.decisions = recorder.decisions
        self.sender = sender
        self.campaigns = campaigns
        #: the per-member "sending" claim of campaign messages (None: no claim, as in
        #: the simulator, where nothing can die between reserving and sending)
        self.leases: CampaignLeases | None = None
        #: how soon a promotional message is retried when the gate backend is unreachable
        self.retry_after = RETRY_AFTER
        #: one drain per member at a time (only the scheduler's leader drains)
        self._drain_locks = [asyncio.Lock() for _ in range(64)]
        #: waiting messages whose turn passed while the bot was down go out at this pace
        self.catch_up = shared_catch_up(services, push_config(services.config).catch_up)
        #: window-refused pushes join a daily mass send (None: they wait for the window)
        self.batch: _Batch | None = None

    # -- the contract ----------------------------------------------------------
    async def submit(
        self,
        member: MemberRecord,
        message: PushMessage,
        category: Category,
        priority: int = 0,
        expires_at: datetime | None = None,
        park: bool = True,
    ) -> Decision:
        now = self.services.clock.now()
        seq = int(now.timestamp() * 1000)
        sub = Submission(
            member, message, category, priority, expires_at, seq, queued=False, park=park
        )
        return await self._attempt(sub)

    def record_skip(self, member_id: int, key: str, category: Category, decision: Decision) -> None:
        """Log a decision its caller took without submitting (a flow step too late to
        make sense is ``dropped``/``stale``), so the push log shows it like the others."""
        now = self.services.clock.now()
        self._record(member_id, None, PushMessage("", key), category, 0, decision, now)

    async def check(
        self,
        member: MemberRecord,
        message: PushMessage,
        category: Category,
        priority: int = 0,
        expires_at: datetime | None = None,
        windowed: bool = True,
    ) -> Decision:
        """Decide and record without delivering or parking: for callers that deliver
        by themselves (``windowed=False``: by a channel the platform's message window
        does not govern). When it says *sent*, the slot and the key are taken."""
        now = self.services.clock.now()
        sub = Submission(
            member,
            message,
            category,
            priority,
            expires_at,
            int(now.timestamp() * 1000),
            False,
            windowed=windowed,
        )
        decision = self._decision(await self._verdict(sub, now))
        self._record(member.id, None, message, category, priority, decision, now)
        return decision

    async def post_to_group(
        self,
        chat: ChatRef,
        message: PushMessage,
        category: Category = Category.BROADCAST,
        silent: bool = False,
    ) -> Decision:
        """A bot post in a group: the kill switch and ``push.group_per_day`` apply. Every
        proactive post to a group (a broadcast, a flow's welcome) comes through here."""
        now = self.services.clock.now()
        chat_key = f"{chat.platform}:{chat.id}"
        cap = push_config(self.services.config).group_per_day
        try:
            verdict = await self.backend.admit_group(chat_key, message.key, now.timestamp(), cap)
        except BackendUnavailable:
            verdict = Verdict(Outcome.DROPPED, Reason.UNAVAILABLE)
        if verdict.outcome is Outcome.SENT:
            try:
                await self.sender.send(
                    OutgoingMessage(chat, message.text, message.buttons, silent=silent)
                )
            except DeliveryError:
                verdict = Verdict(Outcome.DROPPED, Reason.FAILED)
        decision = self._decision(verdict)
        self._record(None, chat_key, message, category, 0, decision, now)
        return decision

    async def flush_decisions(self) -> None:
        """Write buffered decisions now (before reading ``push_decisions``)."""
        await self._recorder.flush()

    # -- kill switch -------------------------------------------------------------
    async def pause(self, by: str | None = None) -> None:
        await self.backend.set_paused(True, by)
        log.warning("push kill switch ON (by %s)", by)

    async def resume(self, by: str | None = None) -> int:
        """Turn the kill switch off and drain everything that waited; returns members."""
        await self.backend.set_paused(False, by)
        log.warning("push kill switch OFF (by %s)", by)
        now = self.services.clock.now()
        # messages held by the switch were due at the next re-check: they are due now
        await self.pending.advance(now + push_config(self.services.config).pause_recheck, now)
        return await self.reschedule_waiting()

    async def is_paused(self) -> bool:
        return await self.backend.is_paused()

    async def plan(
        self,
        members: Sequence[MemberRecord],
        key: str,
        category: Category,
        priority: int = 0,
        expires_at: datetime | None = None,
    ) -> preview.Plan:
        """What ``submit`` would decide for each member now, without sending anything."""
        now = self.services.clock.now()
        return await preview.plan(
            self.rules, self.backend, now, members, key, category, priority, expires_at
        )

    # -- internals ---------------------------------------------------------------
    async def _verdict(self, sub: Submission, now: datetime) -> Verdict:
        early = precheck(sub.member, sub.category, sub.expires_at, now)
        if early is not None:
            return early
        closed = None
        if sub.windowed and self.services.adapter.limits.window is not None:
            closed = await window_verdict(self.services, sub.member, now)
        if closed is not None:  # the platform would refuse it: no slot is taken
            assert closed.until is not None
            until = datetime.fromtimestamp(closed.until, now.tzinfo)
            return self._bounded(sub, closed, until)
        promotional = not sub.category.bypasses_caps
        if promotional and await self._needs_care(sub.member.id):
            until = now + push_config(self.services.config).pause_recheck
            return self._bounded(sub, Verdict(Outcome.DEFERRED, Reason.NEEDS_CARE), until)
        if promotional:
            quiet_end = self.rules.quiet_until(now, sub.member.time_zone)
            if quiet_end is not None:
                return self._bounded(sub, Verdict(Outcome.DEFERRED, Reason.QUIET_HOURS), quiet_end)
        ask = self.rules.ask(sub.member, sub.message.key, sub.category, sub.priority, now, sub.seq)
        try:
            verdict = await self.backend.admit(ask)
        except BackendUnavailable as exc:
            if promotional:
                log.warning("gate backend unreachable, deferring %s: %s", sub.message.key, exc)
                return self._bounded(
                    sub, Verdict(Outcome.DEFERRED, Reason.UNAVAILABLE), now + self.retry_after
                )
            log.warning("gate backend unreachable; %s sent unchecked", sub.category.value)
            return Verdict(Outcome.SENT)
        if verdict.outcome is not Outcome.DEFERRED:
            return verdict
        until = self.rules.deferred_until(verdict, now, sub.member.time_zone, promotional)
        return self._bounded(sub, verdict, until)

    async def _needs_care(self, member_id: int) -> bool:
        """An open complaint: no promotion until an admin has closed it."""
        store = self.services.find(KnowledgeStore)  # type: ignore[type-abstract]
        return store is not None and await store.has_open_complaint(member_id)

    @staticmethod
    def _bounded(sub: Submission, verdict: Verdict, until: datetime) -> Verdict:
        """Deferred past its expiry means dropped as ``expired``."""
        if sub.expires_at is not None and until > sub.expires_at:
            return Verdict(Outcome.DROPPED, Reason.EXPIRED)
        return Verdict(verdict.outcome, verdict.reason, until.timestamp())

    async def _attempt(self, sub: Submission) -> Decision:
        now = self.services.clock.now()
        verdict = await self._verdict(sub, now)
        if verdict.reason == Reason.PLATFORM_WINDOW and self.batch is not None:
            verdict = await self.batch.take(sub, verdict, now)
        campaign_id = sub.message.campaign_id
        if (
            verdict.reason == Reason.DUPLICATE
            and self.leases is not None
            and await self.leases.reserved_unsent(campaign_id, sub.member.id)
        ):
            # a worker died between reserving this member's slot and sending: the row
            # never reached "sending", so nothing went out; give the slot back, decide again
            await self._release(sub)
            verdict = await self._verdict(sub, now)
        if verdict.outcome is Outcome.SENT:
            verdict = await self._deliver(sub, now)
        if verdict.reason == _SUPERSEDED:
            return self._decision(verdict)
        decision = self._decision(verdict)
        self._record(sub.member.id, None, sub.message, sub.category, sub.priority, decision, now)
        if decision.outcome is Outcome.DEFERRED and sub.park:
            await self._park(sub, decision)
        elif sub.queued:
            await self._unqueue(sub)
        if sub.message.campaign_id is not None:
            await self._mark_outbox(sub, decision, now)
        return decision

    async def _deliver(self, sub: Submission, now: datetime) -> Verdict:
        dm = self.services.adapter.dm(sub.member.user)
        message = OutgoingMessage(dm, sub.message.text, sub.message.buttons)
        claim = None
        if self.leases is not None and sub.message.campaign_id is not None:
            # asked after the pacer's wait, right before the platform call
            claim = self.leases.claimer(sub.message.campaign_id, sub.member.id, not sub.queued)
        try:
            if await self.sender.send(message, claim) is None:
                return Verdict(Outcome.DROPPED, _SUPERSEDED)  # its reservation is not ours
            return Verdict(Outcome.SENT)
        except RecipientUnreachable:
            await self._release(sub)
            await self.services.members.update(sub.member.id, reachable=False)
            return Verdict(Outcome.DROPPED, Reason.UNREACHABLE)
        except TransientError:
            await self._release(sub)
            return self._bounded(sub, Verdict(Outcome.DEFERRED, Reason.RETRY), now + RETRY_AFTER)
        except DeliveryError:
            await self._release(sub)
            return Verdict(Outcome.DROPPED, Reason.FAILED)
        except BaseException:
            # cancelled mid-send (shutdown, crash of the fan-out): give the slot back
            await asyncio.shield(self._release(sub))
            raise

    async def _release(self, sub: Submission) -> None:
        try:
            await self.backend.release(sub.member.id, sub.message.key)
        except BackendUnavailable:
            log.warning("could not release %s for member %s", sub.message.key, sub.member.id)

    async def _mark_outbox(self, sub: Submission, decision: Decision, now: datetime) -> None:
        assert sub.message.campaign_id is not None
        state, reason = decision.outcome.value, decision.reason
        if decision.reason == Reason.DUPLICATE:
            # its send was started before (the row is "sending" or settled): only a
            # platform answer may call it sent (issue 16, "broadcast outcomes")
            return
        await self.campaigns.mark(sub.message.campaign_id, sub.member.id, state, reason, now)

    def _decision(self, verdict: Verdict) -> Decision:
        until = None
        if verdict.until is not None and verdict.outcome is Outcome.DEFERRED:
            until = datetime.fromtimestamp(verdict.until, self.services.clock.now().tzinfo)
        return Decision(verdict.outcome, verdict.reason, until)

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
        if decision.reason == Reason.DUPLICATE:
            # the key was delivered already (from the waiting line, or before a crash):
            # a repeat is not a new decision, and the log shows each message once
            return
        self.recorder.record(
            DecisionRow(
                at=now,
                member_id=member_id,
                chat_key=chat_key,
                message_key=message.key,
                campaign_id=message.campaign_id,
                category=category.value,
                priority=priority,
                outcome=decision.outcome.value,
                reason=decision.reason,
                until=decision.until,
                text=message.text,
            )
        )
