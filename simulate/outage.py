"""``--outage DAY:DURATION``: the bot is down for a span of virtual time, and what
its restart did is measured.

While the bot is down nothing of it runs: no ticks, no waiting-line drains, and
what members do meanwhile reaches it when it is back (as Telegram keeps updates
for a bot that is offline). After the restart the world ticks every minute while
the engine holds backlog, so that pacing shows in sends per minute.

The measures are taken from outside the engine's own lateness check: every step's
planned time is noted when it is *scheduled* (timer rows, content slots), every
delivery is seen in the gate's decision log, and a delivery later than its
planned time plus its step's bound counts in ``stale_sends``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.config.duration import parse_duration
from flows.definition import FlowDef
from flows.engine import FlowEngine
from flows.lateness import bound_of
from flows.timers import NewTimer, Timer
from push.store import DecisionRow
from storage.records import MemberRecord


@dataclass(frozen=True, slots=True)
class Outage:
    start: datetime
    end: datetime


def parse_outage(spec: str, days: int) -> tuple[int, timedelta]:
    """``DAY:DURATION`` (``30:48h``): from the start of day ``DAY`` for ``DURATION``."""
    day, sep, length = spec.partition(":")
    if not sep or not day.strip().isdigit():
        raise ValueError(f"--outage {spec!r}: expected DAY:DURATION, e.g. 30:48h")
    try:
        duration = parse_duration(length.strip())
    except ValueError as exc:
        raise ValueError(f"--outage {spec!r}: {exc}") from None
    if duration <= timedelta(0):
        raise ValueError(f"--outage {spec!r}: the duration must be more than 0")
    if int(day) >= days:
        raise ValueError(f"--outage {spec!r}: day {int(day)} is past the simulated {days} days")
    return int(day), duration


class _Records(Protocol):
    def record(self, row: DecisionRow) -> None: ...


class Downtime:
    """The outages of one run, and what the restarts after them delivered."""

    def __init__(self, start: datetime, spans: Sequence[tuple[int, timedelta]]) -> None:
        self.outages = [
            Outage(start + timedelta(days=day), start + timedelta(days=day) + length)
            for day, length in sorted(spans)
        ]
        #: proactive sends per virtual minute while a restart's backlog lasts
        self.per_minute: Counter[datetime] = Counter()
        self.catching_up = False
        self.stale_sends = 0
        self._timers: dict[str, tuple[str, str, datetime]] = {}
        self._slots: dict[int, datetime] = {}
        self._flows: dict[str, FlowDef] = {}
        #: the cadence flow behind a content slot's message key prefix
        self._slot_flows: dict[str, FlowDef | None] = {}
        self._bounds: dict[tuple[str, str | None], timedelta | None] = {}
        self._engine: FlowEngine | None = None

    def down(self, at: datetime) -> bool:
        return any(o.start <= at < o.end for o in self.outages)

    def ended(self, before: datetime, at: datetime) -> bool:
        """An outage ended in ``(before, at]``: the bot restarted."""
        return any(before < o.end <= at for o in self.outages)

    # -- observation ----------------------------------------------------------------
    def watch(self, engine: FlowEngine, recorder: _Records) -> _Records:
        """Note planned times where steps are scheduled; return the recorder to install
        in the gate (it passes every decision on)."""
        self._engine = engine
        self._flows = engine.flows
        self._slot_flows = {
            "value": self._flows.get("value_content"),
            "offer": self._flows.get("soft_offer"),
        }
        schedule = engine.timers.schedule
        next_slot = engine.next_slot

        async def scheduled(
            timers: Sequence[NewTimer], claim_by: datetime | None = None
        ) -> list[Timer]:
            for t in timers:
                self._timers.setdefault(t.key, (t.flow, t.step, t.due_at))
            return await schedule(timers, claim_by)

        def slot(member: MemberRecord, earliest: datetime) -> datetime:
            at = next_slot(member, earliest)
            self._slots[member.id] = at
            return at

        setattr(engine.timers, "schedule", scheduled)  # noqa: B010 (an observer, not a stub)
        setattr(engine, "next_slot", slot)  # noqa: B010
        return _Tap(recorder, self._delivered)

    def _delivered(self, row: DecisionRow) -> None:
        if row.outcome != "sent" or row.member_id is None:
            return
        if self.catching_up and row.category not in {"reply"}:
            self.per_minute[row.at.replace(second=0, microsecond=0)] += 1
        planned = self._planned(row)
        if planned is not None and planned[1] > timedelta(0) and row.at > planned[0] + planned[1]:
            self.stale_sends += 1

    def _planned(self, row: DecisionRow) -> tuple[datetime, timedelta] | None:
        """When the delivered message was planned, and its step's lateness bound."""
        timer = self._timers.get(row.message_key)
        if timer is not None:
            flow_name, step_id, due = timer
            bound = self._bound(flow_name, step_id)
            return None if bound is None else (due, bound)
        slot = self._slots.get(row.member_id or 0)
        if slot is None:
            return None
        bound = self._bound(row.message_key.split(":", 1)[0], None)
        return None if bound is None else (slot, bound)

    def _bound(self, name: str, step_id: str | None) -> timedelta | None:
        """The lateness bound of a flow's step (``step_id`` None: a content slot's
        flow by its key prefix, its first timed step), looked up once per step: every
        delivered message asks."""
        key = (name, step_id)
        if key in self._bounds:
            return self._bounds[key]
        assert self._engine is not None
        config = self._engine.config
        if step_id is None:
            flow = self._slot_flows.get(name)
            bound = None if flow is None else bound_of(config, flow.timed_steps[0])
        else:
            flow = self._flows.get(name)
            bound = None if flow is None else bound_of(config, flow.step(step_id))
        self._bounds[key] = bound
        return bound

    def summary(self) -> dict[str, Any]:
        return {
            "stale_sends": self.stale_sends,
            "max_sends_per_minute_after_outage": max(self.per_minute.values(), default=0),
        }


class _Tap:
    def __init__(self, inner: _Records, seen: Callable[[DecisionRow], None]) -> None:
        self._inner = inner
        self._seen = seen

    def record(self, row: DecisionRow) -> None:
        self._seen(row)
        self._inner.record(row)
