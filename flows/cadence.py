"""The content cadence: every member's next value slot, taken by the
highest-priority cadence flow whose guard holds (or resolved first by the
flow whose message the gate deferred)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flows.batch import StepBatch, save_changed, snapshot
from flows.lateness import SLOT, STALE, bound_of, next_in_phase
from flows.state import JourneyState
from flows.steps import RETRY_FLOOR, Status, StepResult, StepRun
from push.contract import Category
from storage.records import MemberRecord

if TYPE_CHECKING:
    from flows.engine import FlowEngine


class _Pass:
    """What one pass over claimed members shares: each cadence flow's first timed step
    and its lateness bound, and the time stamps every slot's payload and keys repeat
    (worked out once per pass, not once per member and flow)."""

    __slots__ = ("_texts", "firsts", "now", "now_text")

    def __init__(self, engine: FlowEngine, now: datetime) -> None:
        firsts = [(flow, flow.timed_steps[0]) for flow in engine.cadence]
        self.firsts = [(flow, step, bound_of(engine.config, step)) for flow, step in firsts]
        self.now = now
        self.now_text = now.isoformat()
        self._texts: dict[tuple[datetime, Any], str] = {}

    def text(self, at: datetime) -> str:
        # by zone too: equal instants in other zones read differently
        found = self._texts.get((at, at.tzinfo))
        if found is None:
            found = self._texts[(at, at.tzinfo)] = at.isoformat()
        return found


async def run_slots(
    engine: FlowEngine, ids: list[int], now: datetime, late: dict[int, datetime] | None = None
) -> None:
    """Each claimed member's content slot: filled, deferred, or moved to the next one.

    ``late`` slots (backlog after downtime, with the time each was due) run at the
    catch-up pace; one too late for every cadence flow is skipped as stale and the
    member's rhythm continues from it.
    """
    late = late or {}
    catch_up = engine.catch_up
    cadence = engine.config.content.cadence
    weights = engine.config.trust
    members = await engine.members(ids)
    states = await engine.journeys.get_many(ids)
    interests = await engine.tags.of_many(ids)
    before = {mid: snapshot(state) for mid, state in states.items()}
    batch = StepBatch()
    shared = _Pass(engine, now)
    cutoff = catch_up.cutoff(now)
    retry = now + RETRY_FLOOR
    for member_id in ids:
        member, state = members.get(member_id), states.get(member_id)
        if member is None or state is None:
            continue
        if not (member.started_bot and member.reachable):
            state.next_value_at = None
            continue
        slot_at = late.get(member_id)
        if slot_at is not None and not _stale_for_all(shared, slot_at, now):
            if catch_up.left <= 0:  # backlog beyond this minute's release: put back
                state.next_value_at = slot_at
                catch_up.held += 1
                continue
            catch_up.take(1)
        payload = {"interests": sorted(interests.get(member_id, ()))}
        state_since = _since(state.pending)
        since = state_since or slot_at or cutoff
        result = await _slot(engine, member, state, payload, batch, shared, since)
        if result.status is Status.DEFERRED:
            state.next_value_at = max(result.until or retry, retry)
        elif result.reason == STALE:
            first = state_since or slot_at or now
            state.next_value_at = engine.next_slot(member, next_in_phase(first, cadence, now))
        else:
            state.next_value_at = engine.next_slot(member, now + cadence)
        state.trust = state.score(now, weights)
        state.updated_at = now
    await engine.journeys.bump(batch.bumps, now)
    await engine.tags.add_many(batch.tags, now)
    await save_changed(engine.journeys, states.values(), before)


async def _slot(
    engine: FlowEngine,
    member: MemberRecord,
    state: JourneyState,
    payload: dict[str, Any],
    batch: StepBatch,
    shared: _Pass,
    since: datetime,
) -> StepResult:
    """The highest-priority cadence flow whose guard holds takes the slot.

    A message the gate deferred is resolved first: the flow that made it
    runs again (its guard re-checked), resubmitting the same key. A slot due
    at ``since`` (a deferred message's slot is the one it was first offered in)
    that is too late for a flow's step is recorded ``stale`` for that flow and
    offered to the next one.
    """
    now = shared.now
    since_text = shared.text(since)
    payload[SLOT] = since_text
    firsts = shared.firsts
    pending_flow = state.pending.get("flow") if state.pending else None
    if pending_flow is not None:
        firsts = [f for f in firsts if f[0].name == pending_flow] + [
            f for f in firsts if f[0].name != pending_flow
        ]
    result = StepResult(Status.SKIPPED)
    for flow, step, bound in firsts:
        limited = bound > _NO_BOUND
        run = StepRun(
            engine,
            flow,
            step,
            member,
            state,
            now,
            "",
            payload,
            bumps=batch.bumps,
            tags=batch.tags,
            deadline=since + bound if limited else None,
        )
        mine = state.pending is not None and state.pending.get("flow") == flow.name
        if flow.guard and not engine.registry.get_guard(flow.guard)(run):
            if mine:
                state.pending = None
            continue
        if limited and now > since + bound:  # flows.lateness.is_stale
            category = Category(step.category) if step.category else Category.VALUE
            engine.record_stale(member.id, f"{flow.name}:{member.id}:{since_text}", category)
            if mine:
                state.pending = None
            result = StepResult(Status.SKIPPED, reason=STALE)
            continue
        run.key = f"{flow.name}:{member.id}:{shared.now_text}"
        result = await engine.run(run)
        if result.status is not Status.SKIPPED:
            return result
    return result


_NO_BOUND = timedelta(0)


class SendAt:
    """``content.send_at`` member-local time, the first at or after a moment
    (:meth:`FlowEngine.next_slot`): a pass asks for its members' next slots from one
    moment, in a few zones, so the answers of the last moment are kept by zone."""

    def __init__(self) -> None:
        self._asked: tuple[str, datetime] | None = None
        self._time = (0, 0)
        self._by_zone: dict[ZoneInfo, datetime] = {}

    def next(self, send_at: str, zone: ZoneInfo, earliest: datetime) -> datetime:
        if self._asked is None or self._asked != (send_at, earliest):
            hour, minute = (int(part) for part in send_at.split(":"))
            self._asked, self._time, self._by_zone = (send_at, earliest), (hour, minute), {}
        found = self._by_zone.get(zone)
        if found is None:
            hour, minute = self._time
            local = earliest.astimezone(zone)
            slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if slot < local:
                slot += timedelta(days=1)
            found = self._by_zone[zone] = slot.astimezone(UTC)
        return found


def _stale_for_all(shared: _Pass, slot_at: datetime, now: datetime) -> bool:
    """Too late for every cadence flow: skipping it needs no catch-up turn."""
    return all(bound > _NO_BOUND and now > slot_at + bound for _, _, bound in shared.firsts)


def _since(pending: dict[str, Any] | None) -> datetime | None:
    found = pending.get(SLOT) if pending else None
    return datetime.fromisoformat(found) if isinstance(found, str) else None
