"""The content cadence: every member's next value slot, taken by the
highest-priority cadence flow whose guard holds (or resolved first by the
flow whose message the gate deferred)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flows.batch import StepBatch, save_changed, snapshot
from flows.lateness import SLOT, STALE, bound_of, deadline, is_stale, next_in_phase
from flows.state import JourneyState
from flows.steps import RETRY_FLOOR, Status, StepResult, StepRun
from push.contract import Category
from storage.records import MemberRecord

if TYPE_CHECKING:
    from flows.engine import FlowEngine


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
    members = await engine.members(ids)
    states = await engine.journeys.get_many(ids)
    interests = await engine.tags.of_many(ids)
    before = {mid: snapshot(state) for mid, state in states.items()}
    batch = StepBatch()
    for member_id in ids:
        member, state = members.get(member_id), states.get(member_id)
        if member is None or state is None:
            continue
        if not (member.started_bot and member.reachable):
            state.next_value_at = None
            continue
        slot_at = late.get(member_id)
        if slot_at is not None and not _stale_for_all(engine, slot_at, now):
            if catch_up.left <= 0:  # backlog beyond this minute's release: put back
                state.next_value_at = slot_at
                catch_up.held += 1
                continue
            catch_up.take(1)
        payload = {"interests": sorted(interests.get(member_id, ()))}
        state_since = _since(state.pending)
        result = await _slot(engine, member, state, now, payload, batch, slot_at)
        retry = now + RETRY_FLOOR
        if result.status is Status.DEFERRED:
            state.next_value_at = max(result.until or retry, retry)
        elif result.reason == STALE:
            first = state_since or slot_at or now
            state.next_value_at = engine.next_slot(member, next_in_phase(first, cadence, now))
        else:
            state.next_value_at = engine.next_slot(member, now + cadence)
        state.trust = state.score(now, engine.config.trust)
        state.updated_at = now
    await engine.journeys.bump(batch.bumps, now)
    await engine.tags.add_many(batch.tags, now)
    await save_changed(engine.journeys, states.values(), before)


async def _slot(
    engine: FlowEngine,
    member: MemberRecord,
    state: JourneyState,
    now: datetime,
    payload: dict[str, Any],
    batch: StepBatch,
    slot_at: datetime | None = None,
) -> StepResult:
    """The highest-priority cadence flow whose guard holds takes the slot.

    A message the gate deferred is resolved first: the flow that made it
    runs again (its guard re-checked), resubmitting the same key. A slot due
    at ``slot_at`` that is too late for a flow's step is recorded ``stale`` for
    that flow and offered to the next one.
    """
    flows = engine.cadence
    # when this slot was due: a deferred message's slot is the one it was first offered in
    since = _since(state.pending) or slot_at or engine.catch_up.cutoff(now)
    payload = {**payload, SLOT: since.isoformat()}
    if state.pending:
        first = [f for f in flows if f.name == state.pending.get("flow")]
        flows = first + [f for f in flows if f.name != state.pending.get("flow")]
    result = StepResult(Status.SKIPPED)
    for flow in flows:
        step = flow.timed_steps[0]
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
            deadline=deadline(engine.config, step, since),
        )
        mine = state.pending is not None and state.pending.get("flow") == flow.name
        if flow.guard and not engine.registry.get_guard(flow.guard)(run):
            if mine:
                state.pending = None
            continue
        if is_stale(engine.config, step, since, now):
            category = Category(step.category) if step.category else Category.VALUE
            engine.record_stale(member.id, f"{flow.name}:{member.id}:{since.isoformat()}", category)
            if mine:
                state.pending = None
            result = StepResult(Status.SKIPPED, reason=STALE)
            continue
        run.key = f"{flow.name}:{member.id}:{now.isoformat()}"
        result = await engine.run(run)
        if result.status is not Status.SKIPPED:
            return result
    return result


def _stale_for_all(engine: FlowEngine, slot_at: datetime, now: datetime) -> bool:
    """Too late for every cadence flow: skipping it needs no catch-up turn."""
    bounds = [bound_of(engine.config, flow.timed_steps[0]) for flow in engine.cadence]
    return all(bound > timedelta(0) and now > slot_at + bound for bound in bounds)


def _since(pending: dict[str, Any] | None) -> datetime | None:
    found = pending.get(SLOT) if pending else None
    return datetime.fromisoformat(found) if isinstance(found, str) else None
