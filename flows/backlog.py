"""The timers a downtime left behind: stale ones skipped at once, the rest paced."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flows.lateness import is_stale
from flows.timers import Timer

if TYPE_CHECKING:
    from flows.engine import FlowEngine

BATCH = 1000


async def backlog_timers(engine: FlowEngine, now: datetime, cutoff: datetime) -> int:
    """Timers due before ``cutoff`` (the bot was down), oldest first: stale ones are
    skipped (recorded ``stale`` by the engine), the others run while the catch-up
    pacing has room; the rest is given back for the next ticks. Returns timers run."""
    catch_up = engine.catch_up
    ran = 0
    while timers := await engine.timers.claim_due(now, BATCH, upto=cutoff):
        fresh = [t for t in timers if not _stale(engine, t, now)]
        back = fresh[catch_up.left :]
        held = {t.id for t in back}
        run = [t for t in timers if t.id not in held]
        await engine.fire(run, now)
        catch_up.take(len(fresh) - len(back))
        await engine.timers.release([t.id for t in back])
        catch_up.held += len(back)
        ran += len(run)
        if back or len(timers) < BATCH:
            break
    return ran


def _stale(engine: FlowEngine, timer: Timer, now: datetime) -> bool:
    flow = engine.flows.get(timer.flow)
    if flow is None:
        return False
    return is_stale(engine.config, flow.step(timer.step), timer.planned, now)
