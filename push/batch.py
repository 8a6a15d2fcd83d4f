"""Window-refused pushes as a daily mass send, on platforms whose adapter offers it.

Some platforms let a bot write to a member only for a while after the member
wrote (the gate defers the rest: ``platform_window``) but also have mass sends
that a person confirms (:class:`~bot.adapter.MassSender`). When the adapter says
it batches (:func:`~bot.adapter.batches_pushes`), a proactive message the window
refuses joins the next daily batch instead (``push_batched``); the gate's answer
is still ``deferred``/``platform_window``, until that batch. A mass message
carries text only: link buttons become lines of text, the others are left out
(the member answers by writing, which opens the window again). Replies (answers
to what the member did) keep waiting for the window.

At the batch time each queued message is decided by the gate as a mass message
(``Gate.check``, outside the window: opt-out, caps, gap, quiet hours, the kill
switch, its key); the platform's per-member mass allowance is a cap of its own
(``platform_cap``, counted with broadcasts' mass sends, recorded and never sent).
Messages with the same text go as one ``mass_send`` (the adapter makes one task
per sender); outcomes are read back every ``push.campaigns.mass_poll`` like a
broadcast's, and what staff leave unconfirmed for ``mass_wait`` is dropped as
``not_confirmed``. A message the gate defers at batch time waits for the next
batch. Resubmitting a message already in a task is a duplicate (a flow's retry
then counts it done); one dropped from a batch may be queued again.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.adapter import MassSender
from bot.outbound import text_only
from bot.scheduling.interface import Scheduler
from bot.services import Services
from bot.zones import member_zone
from push.batch_store import MASS, QUEUED, WAITING, Batched, BatchStore, mass_counts
from push.config import push_config
from push.contract import Category, Outcome, PushMessage
from push.gate import Gate
from push.rules import Reason, Verdict
from push.store import DecisionRow, members_by_ids
from push.waiting import Submission
from push.windows import RECHECK
from storage.database import Database
from storage.records import MemberRecord

log = logging.getLogger("warmline.push.batch")

RUN_TARGET = "push.batch:run_batch"
FOLLOW_TARGET = "push.batch:follow_batch"
NOT_CONFIRMED = "not_confirmed"
#: what a task's read-back outcome means for the message: (state, reason)
FINAL = {
    "sent": ("sent", MASS),
    Reason.PLATFORM_CAP: ("dropped", Reason.PLATFORM_CAP),
    Reason.UNREACHABLE: ("dropped", Reason.UNREACHABLE),
}


def next_batch(at: time, zone: ZoneInfo, now: datetime) -> datetime:
    """The first ``at`` (local time in ``zone``) strictly after ``now``."""
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), at, zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, zone)
    return candidate.astimezone(now.tzinfo)


def task_name(due: datetime, text: str) -> str:
    """One name per (batch, text): making it again is a no-op for the sender. To the
    second, as ``batch_at`` may be: two batches in one minute are two tasks."""
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    return f"push-{due:%Y%m%d%H%M%S}-{digest}"


class WindowBatch:
    def __init__(
        self,
        services: Services,
        db: Database,
        gate: Gate,
        sender: MassSender,
        at: time,
        poll: timedelta,
        wait: timedelta,
    ) -> None:
        self.services = services
        self.store = BatchStore(db)
        self._db = db
        self._gate = gate
        self._sender = sender
        self.at = at
        self.poll = poll
        self._wait = wait
        #: job keys this process has scheduled: every message queued for the same batch
        #: names the same job, and asking the job store again is a write that conflicts
        self._scheduled: set[str] = set()

    def next_at(self, member: MemberRecord, now: datetime) -> datetime:
        """The member's next batch: ``at`` in their own time zone, as content slots
        are (so the batch time is never in their quiet hours by a zone's accident)."""
        zone = member_zone(member.time_zone, push_config(self.services.config).timezone)
        return next_batch(self.at, zone, now)

    # -- at submit time ------------------------------------------------------------
    async def take(self, sub: Submission, verdict: Verdict, now: datetime) -> Verdict:
        """The gate's ``platform_window`` verdict for ``sub``, with the message queued
        for the next batch when it can go by mass send."""
        message = sub.message
        if sub.category is Category.REPLY or message.campaign_id is not None:
            return verdict
        known = await self.store.get(sub.member.id, message.key)
        if known is not None and known.state in (WAITING, "sent"):
            return Verdict(Outcome.DROPPED, Reason.DUPLICATE)  # it is in a task already
        if known is not None and known.state == QUEUED:
            due = known.due_at if known.due_at > now else now + RECHECK
            return Verdict(Outcome.DEFERRED, Reason.PLATFORM_WINDOW, due.timestamp())
        due = self.next_at(sub.member, now)
        if sub.expires_at is not None and due > sub.expires_at:
            return verdict  # too late by then: it waits for the window, or expires
        item = Batched(
            sub.member.id,
            message.key,
            sub.category.value,
            sub.priority,
            sub.seq,
            text_only(message.text, message.buttons),
            due,
            sub.expires_at,
        )
        await self.store.put(item, now)
        await self._schedule(f"push:batch:{int(due.timestamp())}", due, RUN_TARGET)
        return Verdict(Outcome.DEFERRED, Reason.PLATFORM_WINDOW, due.timestamp())

    # -- at batch time ---------------------------------------------------------------
    async def run(self, now: datetime) -> int:
        """Decide every due message and hand the chosen ones to the platform, one
        ``mass_send`` per text; returns how many went into tasks."""
        due = await self.store.due(now)
        if not due:
            return 0
        members = {m.id: m for m in await members_by_ids(self._db, [d.member_id for d in due])}
        limit = self._sender.mass_limit
        had = await mass_counts(self._db, list(members), limit.period, now)
        chosen: defaultdict[str, list[tuple[Batched, MemberRecord]]] = defaultdict(list)
        taken: Counter[int] = Counter()
        for item in due:
            member = members.get(item.member_id)
            if member is None:
                await self.store.mark(item.member_id, item.key, "dropped", "unknown", now)
                continue
            if item.expires_at is not None and item.expires_at <= now:
                await self._drop(item, Reason.EXPIRED, now)
                continue
            if had[member.id] + taken[member.id] >= limit.count:
                await self._drop(item, Reason.PLATFORM_CAP, now)  # before any task
                continue
            if any(m.id == member.id for _, m in chosen.get(item.text, ())):
                await self._drop(item, Reason.DUPLICATE, now)  # same text, one task
                continue
            message = PushMessage(item.text, item.key)
            category = Category(item.category)
            decision = await self._gate.check(
                member, message, category, item.priority, item.expires_at, windowed=False
            )
            if decision.outcome is Outcome.SENT:
                chosen[item.text].append((item, member))
                taken[member.id] += 1
            elif decision.outcome is Outcome.DEFERRED:
                await self._requeue(item, member, now)
            else:
                await self.store.mark(item.member_id, item.key, "dropped", decision.reason, now)
        sent = 0
        for text, group in chosen.items():
            sent += await self._send(text, group, now)
        if sent:
            await self.schedule_follow(now)
        return sent

    async def _send(
        self, text: str, group: list[tuple[Batched, MemberRecord]], now: datetime
    ) -> int:
        name = task_name(max(item.due_at for item, _ in group), text)
        # waiting before the call: a crash in between leaves them waiting (then
        # not_confirmed), never sent twice
        for item, _ in group:
            await self.store.mark(item.member_id, item.key, WAITING, MASS, now, task=name)
        chats = [self.services.adapter.dm(member.user) for _, member in group]
        try:
            left_out = {chat.id for chat in await self._sender.mass_send(name, chats, text)}
        except Exception:
            # part of it may exist: never tried again (at most once), and said so
            log.exception("mass send %s for %d members failed; dropped", name, len(group))
            for item, _ in group:
                await self._drop(item, Reason.FAILED, now)
            return 0
        for (item, _), chat in zip(group, chats, strict=True):
            if chat.id in left_out:
                await self.store.mark(item.member_id, item.key, "dropped", Reason.UNREACHABLE, now)
                self._log(item, Reason.UNREACHABLE, now)
        return len(group) - len(left_out)

    async def _requeue(self, item: Batched, member: MemberRecord, now: datetime) -> None:
        """Held back by the gate today: the next batch, unless it expires before."""
        later = self.next_at(member, now)
        if item.expires_at is not None and later > item.expires_at:
            await self.store.mark(item.member_id, item.key, "dropped", Reason.EXPIRED, now)
            return
        await self.store.mark(item.member_id, item.key, QUEUED, None, now, due_at=later)
        await self._schedule(f"push:batch:{int(later.timestamp())}", later, RUN_TARGET)

    # -- afterwards ------------------------------------------------------------------
    async def follow(self, now: datetime) -> bool:
        """Read the tasks' outcomes back; True while some still wait for staff."""
        waiting = await self.store.waiting()
        if not waiting:
            return False
        members = {m.id: m for m in await members_by_ids(self._db, [w.member_id for w in waiting])}
        by_task: defaultdict[str, list[Batched]] = defaultdict(list)
        for item in waiting:
            by_task[item.task or ""].append(item)
        still = False
        for task, items in by_task.items():
            try:
                outcomes = await self._sender.mass_outcomes(task) if task else {}
            except Exception:
                log.warning("reading mass send %s back failed; trying again", task, exc_info=True)
                outcomes = {}
            for item in items:
                member = members.get(item.member_id)
                chat = self.services.adapter.dm(member.user).id if member is not None else ""
                outcome = outcomes.get(chat, WAITING)
                if outcome == WAITING:
                    if await self._expired_wait(item, now):
                        continue
                    still = True
                    continue
                state, reason = FINAL.get(outcome, ("dropped", outcome))
                await self.store.mark(item.member_id, item.key, state, reason, now)
                if state == "dropped":
                    self._log(item, reason, now)
        return still

    async def _expired_wait(self, item: Batched, now: datetime) -> bool:
        """Staff never confirmed the task within ``mass_wait``: dropped."""
        if item.updated_at is None or now < item.updated_at + self._wait:
            return False
        await self.store.mark(item.member_id, item.key, "dropped", NOT_CONFIRMED, now)
        self._log(item, NOT_CONFIRMED, now)
        return True

    async def resume(self) -> None:
        """At start-up: the next batch and the read-back are scheduled (idempotent)."""
        due = await self.store.next_due()
        if due is not None:
            await self._schedule(f"push:batch:{int(due.timestamp())}", due, RUN_TARGET)
        if await self.store.waiting():
            await self.schedule_follow(self.services.clock.now())

    async def schedule_follow(self, at: datetime) -> None:
        await self._schedule(f"push:batch-follow:{int(at.timestamp())}", at, FOLLOW_TARGET)

    # -- plumbing --------------------------------------------------------------------
    async def _drop(self, item: Batched, reason: str, now: datetime) -> None:
        await self.store.mark(item.member_id, item.key, "dropped", reason, now)
        self._log(item, reason, now)

    def _log(self, item: Batched, reason: str, now: datetime) -> None:
        """A decision the batch took for the gate, in the push log like the others."""
        self._gate.recorder.record(
            DecisionRow(
                at=now,
                member_id=item.member_id,
                chat_key=None,
                message_key=item.key,
                campaign_id=None,
                category=item.category,
                priority=item.priority,
                outcome=Outcome.DROPPED.value,
                reason=reason,
                until=None,
                text=item.text,
            )
        )

    async def _schedule(self, key: str, at: datetime, target: str) -> None:
        if key in self._scheduled:
            return
        scheduler = self.services.find(Scheduler)  # type: ignore[type-abstract]
        if scheduler is not None:
            await scheduler.schedule(key, at, target)
            self._scheduled.add(key)


async def run_batch(services: Services) -> None:
    """Scheduler target: the day's batch is due."""
    await services.require(WindowBatch).run(services.clock.now())


async def follow_batch(services: Services) -> None:
    """Scheduler target: read the tasks back; again after ``mass_poll`` while some wait."""
    batch = services.require(WindowBatch)
    now = services.clock.now()
    if await batch.follow(now):
        await batch.schedule_follow(now + batch.poll)
