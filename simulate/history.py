"""What a simulation measures on the history it leaves in its database.

The funnel, referral and source figures of ``warmline simulate`` are not
counted by the simulation itself: they are the report's and the dashboard's
own queries (:mod:`insight.summary`) run on the simulated history, so the JSON
says what `warmline report` will say about the kept database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config.model import WarmlineConfig
from insight.pages import Settings, sources
from insight.summary import loop_summary
from insight.window import Window
from push.contract import Category
from simulate.world import START, Progress, World
from storage.database import Database
from storage.members import insert_for
from storage.push_tables import PushDecision, PushSend

decisions = PushDecision.__table__
sends = PushSend.__table__


async def run_and_measure(
    world: World, *, keep_sends: bool = False, progress: Progress | None = None
) -> dict[str, Any]:
    """Run the simulation, then add the loop's figures measured on its history
    (members who joined during the run, as of its last hour)."""
    result = await world.run(progress)
    end = START + timedelta(days=world.days)
    return {**result, **await measure_history(world.config, START, end, keep_sends=keep_sends)}


async def measure_history(
    config: WarmlineConfig, start: datetime, end: datetime, *, keep_sends: bool
) -> dict[str, Any]:
    """The loop's figures for members who joined in ``[start, end)``, as of ``end``.
    ``keep_sends`` writes the sends ledger from the decisions first (the in-memory
    gate keeps no ledger in the database; the report's push load reads it)."""
    database = Database(config.storage.database_url)
    try:
        async with database.engine.begin() as conn:
            if keep_sends:
                await write_sends(conn)
            data = await sources(conn, Window(start, end), Settings.of(config), config)
            held = await gate_reasons(conn)
        return {**loop_summary(data), "gate_reasons": held}
    finally:
        await database.close()


async def gate_reasons(conn: AsyncConnection) -> dict[str, int]:
    """How often the gate deferred or dropped, by ``outcome:reason`` (platform rules
    included: ``deferred:platform_window``, ``dropped:platform_cap``)."""
    count = func.count()
    rows = (
        select(decisions.c.outcome, decisions.c.reason, count)
        .where(decisions.c.outcome != "sent")
        .group_by(decisions.c.outcome, decisions.c.reason)
    )
    found = (await conn.execute(rows)).all()
    return {f"{outcome}:{reason}": int(n) for outcome, reason, n in sorted(found, key=str)}


async def write_sends(conn: AsyncConnection) -> None:
    """``push_sends`` as the SQL gate would have left it: one row per (member, key)
    the gate sent, at its last send; transactional messages do not count for caps."""
    bypass = [category.value for category in Category if category.bypasses_caps]
    category = func.min(decisions.c.category)  # one key, one category
    rows = (
        select(
            decisions.c.member_id,
            decisions.c.message_key,
            category,
            category.not_in(bypass),
            func.max(decisions.c.at),
        )
        .where(decisions.c.outcome == "sent", decisions.c.member_id.is_not(None))
        .group_by(decisions.c.member_id, decisions.c.message_key)
    )
    insert = insert_for(conn.dialect.name, sends).from_select(
        ["member_id", "key", "category", "counts", "at"], rows
    )
    await conn.execute(insert.on_conflict_do_nothing(index_elements=["member_id", "key"]))
