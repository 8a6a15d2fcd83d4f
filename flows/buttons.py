"""Flow buttons: a press runs the step the button points to, once, and returns the answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from flows.definition import FlowDef
from flows.steps import Keyboard, parse_choice
from flows.timers import NewTimer, timer_key
from storage.records import MemberRecord

if TYPE_CHECKING:
    from flows.engine import FlowEngine


async def press_many(
    engine: FlowEngine, presses: Sequence[tuple[MemberRecord, str]], at: datetime
) -> list[list[tuple[str, Keyboard]] | None]:
    """Several presses in one batch (the simulator; a busy webhook worker)."""
    answers: list[list[tuple[str, Keyboard]] | None] = [None] * len(presses)
    bumps: dict[tuple[int, str], int] = {}
    new: list[tuple[int, NewTimer]] = []
    for index, (member, data) in enumerate(presses):
        target = button_target(engine, data)
        if target is None:
            continue
        flow, step_id, instance, goto = target
        bumps[(member.id, "buttons")] = bumps.get((member.id, "buttons"), 0) + 1
        answers[index] = []
        if goto is not None:
            key = timer_key(flow, member.id, f"{step_id}-{instance}", goto)
            payload = {"instance": instance}
            new.append((index, NewTimer(key, member.id, flow.name, goto, at, payload)))
    await engine.journeys.bump(bumps, at)
    if new:
        # stored and claimed in one statement (one round trip, not two); a key pressed
        # twice in the batch is stored once, run in the place of its last press, and
        # its answers go to that press
        by_key = {timer.key: index for index, timer in new}
        once = list({timer.key: timer for _, timer in new}.values())
        claimed = await engine.timers.schedule(once, claim_by=at)
        claimed.sort(key=lambda timer: by_key[timer.key])
        known = {member.id: member for member, _ in presses}
        replies = await engine.fire(claimed, at, reply=True, known=known)
        for timer in claimed:
            answers[by_key[timer.key]] = replies.get(timer.key, [])
    return answers


def button_target(engine: FlowEngine, data: str) -> tuple[FlowDef, str, str, str | None] | None:
    parsed = parse_choice(data)
    if parsed is None:
        return None
    flow_name, step_id, choice, instance = parsed
    flow = engine.flows.get(flow_name)
    if flow is None:
        return None
    try:
        button = next(b for b in flow.step(step_id).buttons if b.choice == choice)
    except (KeyError, StopIteration):
        return None
    return flow, step_id, instance, button.goto
