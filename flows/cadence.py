"""The content cadence: every member's next value slot, taken by the
highest-priority cadence flow whose guard holds (or resolved first by the
flow whose message the gate deferred)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flows.batch import StepBatch, save_changed, snapshot
from flows.state import JourneyState
from flows.steps import RETRY_FLOOR, Status, StepResult, StepRun
from storage.records import MemberRecord

if TYPE_CHECKING:
    from flows.engine import FlowEngine


async def run_slots(engine: FlowEngine, ids: list[int], now: datetime) -> None:
    """Each claimed member's content slot: filled, deferred, or moved to the next one."""
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
        payload = {"interests": sorted(interests.get(member_id, ()))}
        result = await _slot(engine, member, state, now, payload, batch)
        retry = now + RETRY_FLOOR
        if result.status is Status.DEFERRED:
            state.next_value_at = max(result.until or retry, retry)
        else:
            state.next_value_at = engine.next_slot(member, now + engine.config.content.cadence)
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
) -> StepResult:
    """The highest-priority cadence flow whose guard holds takes the slot.

    A message the gate deferred is resolved first: the flow that made it
    runs again (its guard re-checked), resubmitting the same key.
    """
    flows = engine.cadence
    if state.pending:
        first = [f for f in flows if f.name == state.pending.get("flow")]
        flows = first + [f for f in flows if f.name != state.pending.get("flow")]
    result = StepResult(Status.SKIPPED)
    for flow in flows:
        run = StepRun(
            engine,
            flow,
            flow.timed_steps[0],
            member,
            state,
            now,
            "",
            payload,
            bumps=batch.bumps,
            tags=batch.tags,
        )
        if flow.guard and not engine.registry.get_guard(flow.guard)(run):
            if state.pending and state.pending.get("flow") == flow.name:
                state.pending = None
            continue
        run.key = f"{flow.name}:{member.id}:{now.isoformat()}"
        result = await engine.run(run)
        if result.status is not Status.SKIPPED:
            return result
    return result
