"""The flow engine: starts flows on triggers, fires their timed steps, runs the
content cadence, and answers the buttons its messages carry.

Every proactive message leaves through the push gate; answers to a member's
own button press go straight back. ``tick(now)`` is the only entry point
that moves time: a scheduler calls it periodically, the simulator and the
tests call it on a virtual clock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from bot.events import Button, ChatRef, OutgoingMessage, UserRef
from bot.i18n import normalise_language
from bot.scheduling.catchup import shared_catch_up
from bot.services import Services
from bot.zones import member_zone
from flows.backlog import backlog_timers
from flows.batch import StepBatch, save_changed, snapshot
from flows.buttons import press_many
from flows.cadence import SendAt, run_slots
from flows.config import FlowsConfig, flows_config
from flows.content import ContentLibrary
from flows.definition import FlowDef, StepDef
from flows.lateness import STALE, STALE_CATEGORY, TickStats, check_kinds, deadline, is_stale
from flows.occasions import start_occasions
from flows.orders import OrderBook
from flows.purchase import OrderOutcome, Purchase, place_orders
from flows.state import JourneyState, JourneyStore
from flows.steps import RETRY_FLOOR, Status, StepRegistry, StepResult, StepRun
from flows.tags import TagStore
from flows.timers import NewTimer, Timer, TimerStore, timer_key
from push.config import push_config
from push.contract import Category, Decision, Outcome, PushGate, PushMessage
from push.gate import Gate
from storage.database import Database
from storage.records import MemberRecord

log = logging.getLogger("warmline.flows")
Keyboard = tuple[tuple[Button, ...], ...]
#: a claimed cadence slot is retried after this if the worker died mid-way
CADENCE_LEASE = timedelta(minutes=10)
BATCH = 1000


class FlowEngine:
    def __init__(
        self,
        services: Services,
        db: Database,
        flows: dict[str, FlowDef],
        library: ContentLibrary,
        registry: StepRegistry | None = None,
    ) -> None:
        self.services = services
        self.config: FlowsConfig = flows_config(services.config)
        self.flows = flows
        self.library = library
        self.registry = registry or StepRegistry.default()
        self.registry.check(flows)
        check_kinds(self.config, self.registry)
        self.db = db
        self.journeys = JourneyStore(db)
        self.timers = TimerStore(db)
        self.orders = OrderBook(db)
        self.tags = TagStore(db, services.signals)
        self._push = push_config(services.config)  # its time zone places content slots
        self.catch_up = shared_catch_up(services, self._push.catch_up)
        self._send_at = SendAt()  # content.send_at's slots, worked out once per zone
        self.keyboards: dict[tuple[int, str, str, str], tuple[StepDef, Keyboard]] = {}
        self.stale = 0  # steps and slots skipped as stale since start-up
        self._occasions_done: date | None = None
        #: cadence flows, highest priority first (they compete for each content slot)
        self.cadence = sorted(
            (flow for flow in flows.values() if flow.trigger == "cadence"),
            key=lambda flow: -flow.priority,
        )

    # -- texts, delivery ------------------------------------------------------
    def lang_of(self, member: MemberRecord) -> str:
        return normalise_language(member.language, self.services.config.bot.default_language)

    def text(self, member: MemberRecord, key: str, **values: Any) -> str:
        return self.services.catalog.t(self.lang_of(member), key, **values)

    async def submit(
        self,
        member: MemberRecord,
        text: str,
        key: str,
        category: Category,
        buttons: Keyboard = (),
        expires_at: datetime | None = None,
    ) -> Decision:
        """Through the gate; a deferred step is not parked in the gate's waiting line but
        run again by the engine, so its guards and lateness are checked again then."""
        gate = self.services.require(PushGate)  # type: ignore[type-abstract]
        message = PushMessage(text=text, key=key, buttons=buttons)
        return await gate.submit(member, message, category, expires_at=expires_at, park=False)

    def record_stale(self, member_id: int, key: str, category: Category) -> None:
        """A step skipped as too late: a ``dropped``/``stale`` decision in the push log."""
        self.stale += 1
        gate = self.services.find(Gate)
        if gate is not None:
            gate.record_skip(member_id, key, category, Decision(Outcome.DROPPED, STALE))

    async def tell_admins(self, member: MemberRecord, key: str) -> None:
        who = member.display_name or member.username or member.user_id
        for admin in self.services.config.bot.admins:
            chat = self.services.adapter.dm(UserRef(member.platform, admin))
            text = self.services.catalog.t(None, key, member=who, member_id=member.user_id)
            try:
                await self.services.adapter.send(OutgoingMessage(chat=chat, text=text))
            except Exception:
                log.warning("could not tell admin %s about member %s", admin, member.id)

    async def referral_link(self, code: str) -> str:
        """The platform's link that brings a friend in as referred by ``code``."""
        link = await self.services.adapter.deep_link(f"ref-{code}")
        return link or f"ref-{code}"

    async def note(self, member_id: int, signal: str, at: datetime, n: int = 1) -> None:
        await self.journeys.bump({(member_id, signal): n}, at)

    # -- triggers -------------------------------------------------------------
    async def on_start(self, member: MemberRecord, at: datetime) -> None:
        await self.start_flows("start", member, at, {})

    async def on_group_join(self, member: MemberRecord, chat: ChatRef, at: datetime) -> None:
        await self.start_flows("group_join", member, at, {"chat_id": chat.id}, instance=chat.id)

    async def on_question(self, member: MemberRecord, at: datetime) -> None:
        await self.start_flows("question", member, at, {}, instance=at.isoformat())

    async def place_order(
        self,
        member: MemberRecord,
        sku: str,
        amount: float,
        at: datetime,
        source: str,
        external_id: str | None = None,
    ) -> OrderOutcome | None:
        """Store the order and start after-sales; None for a repeated shop order id."""
        purchase = Purchase(member, sku, amount, source, external_id)
        return (await place_orders(self, [purchase], at))[0]

    async def place_orders(
        self, purchases: Sequence[Purchase], at: datetime
    ) -> list[OrderOutcome | None]:
        """Several orders in one batch (the simulator; a shop's bulk import)."""
        return await place_orders(self, purchases, at)

    async def press(
        self, member: MemberRecord, data: str, at: datetime
    ) -> list[tuple[str, Keyboard]] | None:
        """A flow button was pressed: run the step it points to (once), return the answers.

        None when ``data`` is not a flow button; an empty list when it was already handled.
        """
        return (await self.press_many([(member, data)], at))[0]

    async def press_many(
        self, presses: Sequence[tuple[MemberRecord, str]], at: datetime
    ) -> list[list[tuple[str, Keyboard]] | None]:
        """Several presses in one batch (the simulator; a busy webhook worker)."""
        return await press_many(self, presses, at)

    # -- starting flows -------------------------------------------------------
    async def start_flows(
        self,
        trigger: str,
        member: MemberRecord,
        at: datetime,
        payload: dict[str, Any],
        instance: str = "1",
    ) -> None:
        await self.start_flows_many(trigger, [(member, payload, instance)], at)

    async def start_flows_many(
        self,
        trigger: str,
        starts: Sequence[tuple[MemberRecord, dict[str, Any], str]],
        at: datetime,
    ) -> None:
        """Schedule every step of the trigger's flows; steps due now run at once, in batch."""
        new, at_once = self.plan_starts(trigger, starts, at)
        claimed = await self.timers.schedule(new, claim_by=at)
        if claimed or at_once:
            known = {member.id: member for member, _, _ in starts}
            await self.fire([*claimed, *at_once], at, known=known)

    def plan_starts(
        self,
        trigger: str,
        starts: Sequence[tuple[MemberRecord, dict[str, Any], str]],
        at: datetime,
    ) -> tuple[list[NewTimer], list[Timer]]:
        """The timers a trigger's flows need (to store), and the steps of non-durable
        flows due now (to run without a timer row)."""
        new: list[NewTimer] = []
        at_once: list[Timer] = []  # steps of non-durable flows: no timer rows
        for member, payload, instance in starts:
            payload = {**payload, "instance": instance}
            for flow in self.flows.values():
                if flow.trigger != trigger:
                    continue
                for step in flow.timed_steps:
                    due = self._due(step, at, payload)
                    if due is None:
                        continue
                    key = timer_key(flow, member.id, instance, step.id)
                    if not flow.durable and due <= at:
                        at_once.append(Timer(0, key, member.id, flow.name, step.id, due, payload))
                    else:
                        new.append(NewTimer(key, member.id, flow.name, step.id, due, payload))
        return new, at_once

    async def run_started(
        self,
        new: Sequence[NewTimer],
        at_once: list[Timer],
        starts: Sequence[tuple[MemberRecord, dict[str, Any], str]],
        at: datetime,
    ) -> None:
        """Run the steps due now of timers stored by :meth:`plan_starts`' caller."""
        claimed: list[Timer] = []
        if new:
            claimed = await self.timers.claim_keys([t.key for t in new if t.due_at <= at], at)
        if claimed or at_once:
            known = {member.id: member for member, _, _ in starts}
            await self.fire([*claimed, *at_once], at, known=known)

    def _due(self, step: StepDef, at: datetime, payload: dict[str, Any]) -> datetime | None:
        if not step.from_cycle_end:
            return at + step.after
        product = self.config.products.get(str(payload.get("sku", "")))
        if product is None or product.cycle <= timedelta(0):
            return None
        return at + max(timedelta(0), product.cycle - product.remind_before) + step.after

    # -- time passes ------------------------------------------------------------
    async def tick(self, now: datetime) -> TickStats:
        """Fire every due timer and content slot; safe to call from several workers."""
        stats = TickStats()
        stale_before = self.stale
        catch_up = self.catch_up
        catch_up.refill(now)
        catch_up.held = 0
        cutoff = catch_up.cutoff(now)
        if self._occasions_done != now.date():
            self._occasions_done = now.date()
            await start_occasions(self, now)
        # on time first; a batch short of BATCH was the last one: firing never makes
        # timers or slots due now
        while timers := await self.timers.claim_due(now, BATCH, after=cutoff):
            stats.timers += len(timers)
            await self.fire(timers, now)
            if len(timers) < BATCH:
                break
        stats.timers += await backlog_timers(self, now, cutoff)
        while ids := await self.journeys.claim_cadence(now, CADENCE_LEASE, BATCH, after=cutoff):
            stats.slots += len(ids)
            await run_slots(self, ids, now)
            if len(ids) < BATCH:
                break
        while late := await self.journeys.claim_late_cadence(cutoff, now, CADENCE_LEASE, BATCH):
            stats.slots += len(late)
            await run_slots(self, [mid for mid, _ in late], now, late=dict(late))
            if len(late) < BATCH or catch_up.held:
                break
        stats.stale, stats.held = self.stale - stale_before, catch_up.held
        if stats.stale or stats.held:
            log.warning(
                "catch-up: %d late steps skipped as stale, %d held for the next minutes",
                stats.stale,
                stats.held,
            )
        return stats

    async def fire(
        self,
        timers: Sequence[Timer],
        now: datetime,
        reply: bool = False,
        known: dict[int, MemberRecord] | None = None,
    ) -> dict[str, list[tuple[str, Keyboard]]]:
        """Run claimed steps in one batch; ``known`` members are not loaded again."""
        ids = sorted({t.member_id for t in timers})
        members = dict(known or {})
        missing = [i for i in ids if i not in members]
        if missing:
            members.update(await self.members(missing))
        # journeys to open first (one INSERT for the batch, returning the new ones: a
        # member at /start is read once, not looked for, created and read again)
        opening = sorted({t.member_id for t in timers if self._opens(t)})
        states: dict[int, JourneyState] = {}
        if opening:
            states = await self.open_journeys([members[i] for i in opening if i in members], now)
        if others := [i for i in ids if i not in states]:  # the journeys there already
            states.update(await self.journeys.get_many(others))
        before = {mid: snapshot(state) for mid, state in states.items()}
        replies: dict[str, list[tuple[str, Keyboard]]] = {}
        batch = StepBatch()
        retries: list[tuple[Timer, datetime]] = []
        for timer in timers:
            flow = self.flows.get(timer.flow)
            member = members.get(timer.member_id)
            if flow is None or member is None:
                log.warning("timer %s: flow or member gone; skipped", timer.key)
                continue
            step = flow.step(timer.step)
            if not reply and is_stale(self.config, step, timer.planned, now):
                category = Category(step.category) if step.category else None
                self.record_stale(
                    member.id,
                    timer.key,
                    category or STALE_CATEGORY.get(step.do, Category.AFTER_SALES),
                )
                continue
            run = StepRun(
                self,
                flow,
                step,
                member,
                states.get(member.id),
                now,
                timer.key,
                dict(timer.payload),
                reply=reply,
                bumps=batch.bumps,
                tags=batch.tags,
                deadline=deadline(self.config, step, timer.planned),
            )
            result = await self.run(run)
            if result.status is Status.DEFERRED and timer.id:
                retry = now + RETRY_FLOOR
                retries.append((timer, max(result.until or retry, retry)))
            if run.state is not None and run.state.member_id not in states:
                states[run.state.member_id] = run.state
            replies[timer.key] = run.replies
        await self.timers.retry_many(retries)
        await self.journeys.bump(batch.bumps, now)
        await self.tags.add_many(batch.tags, now)
        await save_changed(self.journeys, states.values(), before)
        return replies

    def _opens(self, timer: Timer) -> bool:
        flow = self.flows.get(timer.flow)
        return flow is not None and flow.step(timer.step).do == "open_journey"

    async def open_journeys(
        self, members: Sequence[MemberRecord], now: datetime
    ) -> dict[int, JourneyState]:
        """Create journeys (returns those created); content starts
        ``content.first_after`` after /start."""
        first_after = self.config.content.first_after
        return await self.journeys.open_many(
            [
                (m.id, now, self.next_slot(m, now + first_after) if m.started_bot else None)
                for m in members
            ]
        )

    async def run(self, run: StepRun) -> StepResult:
        """One step: its guard, then its action; a failing action is logged, not raised."""
        if run.step.guard and not self.registry.get_guard(run.step.guard)(run):
            return StepResult(Status.SKIPPED, reason=f"guard {run.step.guard}")
        try:
            return await self.registry.get_action(run.step.do)(run)
        except Exception:
            log.exception(
                "flow %s step %s failed for member %s", run.flow.name, run.step.id, run.member.id
            )
            return StepResult(Status.DROPPED, reason="error")

    def next_slot(self, member: MemberRecord, earliest: datetime) -> datetime:
        """``earliest`` moved to ``content.send_at`` member-local time (same day or the next)."""
        send_at = self.config.content.send_at
        if send_at is None:
            return earliest
        zone = member_zone(member.time_zone, self._push.timezone)
        return self._send_at.next(send_at, zone, earliest)

    async def members(self, ids: Sequence[int]) -> dict[int, MemberRecord]:
        return await self.services.members.get_many(ids)
