"""What is waiting to go out, for the ``/metrics`` gauges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from insight.metrics import Backlog
from insight.queries.respect import outbox
from storage.flow_tables import FlowTimer
from storage.push_tables import PushPending, SchedulerJob

pending = PushPending.__table__
jobs = SchedulerJob.__table__
timers = FlowTimer.__table__


async def backlog(conn: AsyncConnection, now: datetime) -> Backlog:
    """Campaign outbox rows not yet delivered plus deferred pushes; the most
    overdue scheduler job or flow timer, in seconds."""
    waiting = await conn.scalar(
        select(func.count()).select_from(outbox).where(outbox.c.state.in_(("pending", "deferred")))
    )
    deferred = await conn.scalar(select(func.count()).select_from(pending))
    oldest_job = await conn.scalar(
        select(func.min(jobs.c.next_run_time)).where(jobs.c.next_run_time < now.timestamp())
    )
    oldest_timer = await conn.scalar(
        select(func.min(timers.c.due_at)).where(timers.c.fired.is_(False), timers.c.due_at < now)
    )
    lag = 0.0
    if oldest_job is not None:
        lag = max(lag, now.timestamp() - float(oldest_job))
    if oldest_timer is not None:
        lag = max(lag, (now - oldest_timer).total_seconds())
    return Backlog(outbox=int(waiting or 0) + int(deferred or 0), scheduler_lag=lag)
