"""The simulation loop: synthetic members act, the real engine and gate answer.

Time moves an hour at a time on a :class:`~bot.clock.ManualClock`. Each hour:
new members arrive (``/start`` or a group join), members act (messages,
questions, button presses, orders, opt-outs) through the engine's batch entry
points, the gate's waiting line is drained as its scheduler would, and
``engine.tick`` fires timers and content slots. Everything the adapter sends
is measured by :class:`~simulate.measure.Measure`.

The simulation is its throw-away database's only user: each simulated week is one
unit of work (one transaction), SQLite runs on the event loop's thread and the
repositories keep what they read (:class:`~storage.database.Database`), which is
what makes 10,000 members × 90 days a matter of a minute. Members arrive through
a mix of deep links, referral links and group joins, and what they do is noted
for retention as the dispatcher would note it.
"""

from __future__ import annotations

import heapq
import logging
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import insert

from bot.adapters.local import Action
from bot.app import App
from bot.clock import ManualClock
from bot.config.model import WarmlineConfig
from bot.events import ChatKind, ChatRef, OutgoingMessage
from flows.config import flows_config
from flows.engine import FlowEngine
from flows.purchase import Purchase
from flows.state import referral_code_for
from handlers.start import parse_payload
from insight.tracker import ActivityTracker
from push.config import push_config
from push.gate import Gate
from simulate.collection import batch_collection
from simulate.measure import OFFER_PREFIX, SATISFACTION_PREFIX, VALUE_PREFIX, Measure
from simulate.outage import Downtime
from simulate.platform import LateTransactional, SimPlatform, members_wrote
from simulate.population import SIM_EPOCH, SimMember, make_member, member_row, population
from storage.database import Database
from storage.prepared import Prepared
from storage.records import MemberRecord
from storage.tables import Member

START = SIM_EPOCH
#: simulated hours per unit of work (one transaction)
UNIT_HOURS = 7 * 24
#: arriving members in one statement, with the ids they were given
_NEW_MEMBERS = Prepared(insert(Member).returning(Member.user_id, Member.id))
GROUP = ChatRef("local", "-1000", ChatKind.GROUP, "Simulated community")
Progress = Callable[[int, int], None]


class Due(NamedTuple):
    """Something a member does at ``hour``; a tuple ordered by (hour, seq), so the
    queue holds it as it is (``seq`` is unique: ``kind`` and the rest are never compared)."""

    hour: int
    seq: int
    kind: str
    member: int
    data: str = ""


class World:
    def __init__(
        self,
        config: WarmlineConfig,
        members: int,
        days: int,
        seed: int,
        outages: Sequence[tuple[int, timedelta]] = (),
        platform: str = "local",
        batch_pushes: bool = False,
    ) -> None:
        self.config = config
        self.days = days
        self.seed = seed
        self.rng, self.people = population(members, days, seed)
        self.seeded = members
        self.clock = ManualClock(START)
        self.platform = SimPlatform(config, platform, batch_pushes)
        self.adapter = self.platform.adapter
        self.windows = self.platform.windows
        # the simulation is its database's only user: SQLite runs on the loop's thread
        database = Database(config.storage.database_url, only_user=True)
        self.app = App(config, adapter=self.adapter, clock=self.clock, database=database)
        self.measure = Measure(flows_config(config), push_config(config))
        self.downtime = Downtime(START, outages)
        #: what is due, a heap by (hour, seq)
        self.queue: list[Due] = []
        self._seq = 0
        self.phase = "tick"
        self.hour = 0
        self.ids: dict[int, int] = {}  # sim index → member id
        self.user_of: dict[int, str] = {}  # member id → user id
        self.index_of: dict[str, int] = {}  # user id → sim index
        self.active: set[int] = set()
        self.orders_of: defaultdict[int, int] = defaultdict(int)
        #: retention's record of who acted when (found once the app has started)
        self.tracker: ActivityTracker | None = None
        skus = sorted(flows_config(config).products) or ["tea"]
        self.skus = skus

    # -- plumbing ---------------------------------------------------------------
    def at(self, hour: int) -> datetime:
        return START + timedelta(hours=hour)

    def later(self, hours: int, kind: str, member: int, data: str = "") -> None:
        self._seq += 1
        heapq.heappush(self.queue, Due(self.hour + max(1, hours), self._seq, kind, member, data))

    def on_action(self, action: Action) -> None:
        if (
            action.kind != "send"
            or action.message is None
            or action.chat.kind is not ChatKind.PRIVATE
        ):
            return
        user_id = action.chat.id
        buttons = [
            b.data.rsplit("|", 1)[0] for row in action.message.buttons for b in row if b.data
        ]
        data, now = (buttons[0] if buttons else None), self.clock.now()
        self.measure.delivered(user_id, now, self.phase, data)
        self.windows.delivered(user_id, now)
        index = self.index_of.get(user_id)
        if index is None or not data or index not in self.active:
            return
        self._react(self.people[index], data, buttons)

    def _react(self, person: SimMember, data: str, buttons: list[str]) -> None:
        p, roll = person.persona, self.rng.random()
        if data.startswith(VALUE_PREFIX) and roll < p.useful:
            self.later(self.rng.randint(1, 6), "press", person.index, data)
        elif data.startswith(OFFER_PREFIX) and len(buttons) >= 2:
            if roll < p.interested:
                self.later(self.rng.randint(1, 8), "press", person.index, buttons[0])
            elif roll < p.interested + p.not_now:
                self.later(self.rng.randint(1, 8), "press", person.index, buttons[1])
        elif data.startswith(SATISFACTION_PREFIX) and len(buttons) >= 2:
            choice = buttons[0] if roll < p.happy else buttons[1]
            self.later(self.rng.randint(2, 24), "press", person.index, choice)

    # -- the run ------------------------------------------------------------------------
    async def run(self, progress: Progress | None = None) -> dict[str, Any]:
        quiet = logging.getLogger("warmline")
        previous_level = quiet.level
        quiet.setLevel(logging.ERROR)  # restored below: a simulation must not silence its host
        self.adapter.listeners.append(self.on_action)
        try:
            with batch_collection():
                await self.app.start()
                self.tracker = self.app.services.find(ActivityTracker)
                engine = self.app.services.require(FlowEngine)
                gate = self.app.services.find(Gate)
                if gate is not None:
                    tap = LateTransactional(gate.recorder, self.measure, self.user_of)
                    gate.recorder = self.downtime.watch(engine, tap)
                joins = deque(self.people)  # in join order; friends join through the queue
                hours = self.days * 24
                for first in range(0, hours, UNIT_HOURS):
                    # one transaction per simulated week: its tens of thousands of small
                    # repository calls share it instead of each opening and committing one,
                    # and journeys changed many times are written once (JourneyStore)
                    async with self.app.database.unit_of_work():
                        for hour in range(first, min(hours, first + UNIT_HOURS)):
                            await self._bot_hour(engine, gate, hour, joins)
                            if progress is not None:
                                progress(hour + 1, hours)
                        await self._flush_buffers(gate)
                return self.summary()
        finally:
            await self.app.stop()
            quiet.setLevel(previous_level)

    async def _flush_buffers(self, gate: Gate | None) -> None:
        """Write the decisions and the activity buffered off the hot path, in the week's
        unit of work. Left to their own timers, those flushes would run between two
        units, in transactions of their own that the next unit's writes wait for
        (SQLite's busy wait, then "database is locked" and a row-by-row retry)."""
        if gate is not None:
            await gate.flush_decisions()
        if self.tracker is not None:
            await self.tracker.flush()

    async def _bot_hour(
        self, engine: FlowEngine, gate: Gate | None, hour: int, joins: deque[SimMember]
    ) -> None:
        """An hour of the bot, unless it is down (``--outage``); after a restart it
        ticks every minute while the engine holds backlog."""
        now = self.at(hour)
        down = self.downtime
        if down.down(now):
            self.clock.set(now)
            return
        if hour and down.ended(self.at(hour - 1), now):
            down.catching_up = True
        held = await self._hour(engine, gate, hour, joins)
        minute = 0
        while down.catching_up and held and minute < 59:
            minute += 1
            self.clock.set(now + timedelta(minutes=minute))
            if gate is not None:
                await gate.drain_due()
            held = (await engine.tick(self.clock.now())).held
            self.adapter.log.clear()
        if not held:
            down.catching_up = False

    async def _hour(
        self, engine: FlowEngine, gate: Gate | None, hour: int, joins: deque[SimMember]
    ) -> int:
        self.hour = hour
        now = self.at(hour)
        self.clock.set(now)
        arriving: list[SimMember] = []
        while joins and joins[0].join_hour <= hour:
            arriving.append(joins.popleft())
        due: defaultdict[str, list[Due]] = defaultdict(list)
        while self.queue and self.queue[0][0] <= hour:
            item = heapq.heappop(self.queue)
            due[item.kind].append(item)
        arriving += [self._friend(item.member) for item in due["friend"]]
        if hour % 24 == 0:
            self._plan_day(hour)
        self.phase = "reply"
        await self._arrive(engine, arriving, now)
        await self._opt_out(due["opt_out"], now)
        await self._chatter(engine, due["message"], due["question"], now)
        await self._presses(engine, due["press"], now)
        self.phase = "transactional"
        await self._orders(engine, due["order"], now)
        self.phase = "tick"
        if gate is not None:
            await gate.drain_due()  # what the scheduler's drain jobs would do this hour
        await self.platform.hour(self.app.services, self.measure, now)
        held = (await engine.tick(now)).held
        self.adapter.log.clear()
        return held

    def summary(self) -> dict[str, Any]:
        figures = self.measure.figures(START, self.days)
        return {
            "members": figures.pop("members"),
            "members_seeded": self.seeded,
            "days": self.days,
            "seed": self.seed,
            **figures,
            **self.downtime.summary(),
            **self.platform.summary(),
        }

    # -- member behaviour --------------------------------------------------------------
    def _friend(self, referrer: int) -> SimMember:
        friend = make_member(self.rng, len(self.people), self.hour, referrer)
        self.people.append(friend)
        return friend

    def _plan_day(self, hour: int) -> None:
        for index in sorted(self.active):
            person = self.people[index]
            p = person.persona
            for kind, rate in (("message", p.messages_per_day), ("question", p.questions_per_day)):
                count = int(rate) + (self.rng.random() < rate - int(rate))
                for _ in range(count):
                    self.later(self.rng.randint(1, 23), kind, index)

    async def _arrive(self, engine: FlowEngine, people: list[SimMember], now: datetime) -> None:
        if not people:
            return
        rows = []
        for person in people:
            starts = self.rng.random() < person.persona.starts_bot
            # what /start records from the link the member came with; a member who
            # only joins the group brings none
            source, referrer = parse_payload(self._link(person)) if starts else (None, None)
            rows.append(member_row(person, now, starts, source, referrer))
        async with self.app.database.transaction() as conn:
            found = await _NEW_MEMBERS.each(conn, rows)
            by_user: dict[str, int] = {user_id: member_id for user_id, member_id in found}
        for person in people:
            self.ids[person.index] = by_user[person.user_id]
            self.user_of[by_user[person.user_id]] = person.user_id
            self.index_of[person.user_id] = person.index
            self.measure.joined(person.user_id, now, person.time_zone)
            if person.opt_out_after is not None:
                self.later(person.opt_out_after, "opt_out", person.index)
        records = await engine.members([self.ids[p.index] for p in people])
        started: list[tuple[MemberRecord, dict[str, Any], str]] = [
            (records[self.ids[p.index]], {}, "1")
            for p in people
            if records[self.ids[p.index]].started_bot
        ]
        joined = [
            (records[self.ids[p.index]], {"chat_id": GROUP.id}, GROUP.id)
            for p in people
            if not records[self.ids[p.index]].started_bot
        ]
        self.active.update(p.index for p in people if records[self.ids[p.index]].started_bot)
        await self._noted([member for member, _, _ in started], now)  # their /start message
        await engine.start_flows_many("start", started, now)
        await engine.start_flows_many("group_join", joined, now)

    async def _opt_out(self, items: list[Due], now: datetime) -> None:
        for item in items:
            await self.app.services.members.update(self.ids[item.member], opted_out=True)
            self.measure.opted_out(self.people[item.member].user_id, now)
            self.active.discard(item.member)

    def _link(self, person: SimMember) -> str:
        """The deep-link payload of the member's ``/start``: a friend's referral link, or
        the channel they saw the bot in."""
        if person.referrer_index is not None:
            return f"ref-{referral_code_for(self.ids[person.referrer_index])}"
        return f"src-{person.channel}"

    async def _noted(self, members: Iterable[MemberRecord], now: datetime) -> None:
        await members_wrote(self.app.services, self.tracker, self.windows, members, now)

    async def _records(self, engine: FlowEngine, items: list[Due]) -> dict[int, MemberRecord]:
        return await engine.members(sorted({self.ids[item.member] for item in items}))

    async def _chatter(
        self, engine: FlowEngine, messages: list[Due], questions: list[Due], now: datetime
    ) -> None:
        bumps: dict[tuple[int, str], int] = {}
        for item in messages:
            key = (self.ids[item.member], "messages")
            bumps[key] = bumps.get(key, 0) + 1
            self.measure.acted(self.people[item.member].user_id, "messages", now)
        await engine.journeys.bump(bumps, now)
        if messages:
            await self._noted((await self._records(engine, messages)).values(), now)
        if questions:
            records = await self._records(engine, questions)
            await self._noted(records.values(), now)
            starts: list[tuple[MemberRecord, dict[str, Any], str]] = []
            for item in questions:
                starts.append((records[self.ids[item.member]], {}, f"q{item.seq}"))
                self.measure.acted(self.people[item.member].user_id, "questions", now)
            await engine.start_flows_many("question", starts, now)

    async def _presses(self, engine: FlowEngine, items: list[Due], now: datetime) -> None:
        if not items:
            return
        records = await self._records(engine, items)
        await self._noted(records.values(), now)
        answers = await engine.press_many(
            [(records[self.ids[item.member]], item.data) for item in items], now
        )
        for item, answer in zip(items, answers, strict=True):
            person = self.people[item.member]
            user_id = person.user_id
            self.measure.acted(user_id, "buttons", now)
            choice = item.data.split(":")[3]
            signal = {"useful": "opened", "not_now": "declines", "unhappy": "complaints"}.get(
                choice
            )
            if signal:
                self.measure.acted(user_id, signal, now)
            dm = self.adapter.dm(records[self.ids[item.member]].user)
            for text, keyboard in answer or ():
                await self.app.services.adapter.send(OutgoingMessage(dm, text, keyboard))
            if choice == "interested" and self.rng.random() < person.persona.buys:
                self.later(self.rng.randint(6, 72), "order", item.member)
            if choice == "satisfied" and answer and self.rng.random() < person.persona.refers:
                self.later(self.rng.randint(24, 120), "friend", item.member)

    async def _orders(self, engine: FlowEngine, items: list[Due], now: datetime) -> None:
        if not items:
            return
        records = await self._records(engine, items)
        purchases: list[Purchase] = []
        rebuy_after: list[int | None] = []
        for item in items:  # every draw first, in the order a member-by-member loop made them
            person = self.people[item.member]
            sku = self.skus[self.rng.randrange(len(self.skus))]
            amount = float(self.rng.choice((29, 49, 89, 129)))
            purchases.append(Purchase(records[self.ids[item.member]], sku, amount, "simulation"))
            product = flows_config(self.config).products.get(sku)
            hours = None
            if product is not None and product.cycle.total_seconds() > 0:
                if self.rng.random() < person.persona.rebuys:
                    hours = int(product.cycle.total_seconds() // 3600) - self.rng.randint(0, 72)
            rebuy_after.append(hours)
        outcomes = await engine.place_orders(purchases, now)
        for item, outcome, hours in zip(items, outcomes, rebuy_after, strict=True):
            if outcome is None:
                continue
            person = self.people[item.member]
            self.measure.ordered(person.user_id, now, outcome.referral_rewarded)
            if hours is not None:
                self.later(hours, "order", item.member)
