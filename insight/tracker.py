"""Member activity for retention, seen where it happens: in the dispatcher.

Other features record some actions in ``interactions`` (``/start``, answered
questions, opt-ins) but not every message or button press. This middleware
notes, for each member who writes or presses a button, the week since
joining in which they did it, and folds the bits into ``insight_activity``
every few seconds (OR, so nothing is counted twice). A crash loses at most
one interval of activity bits, never a message.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.context import Context
from bot.dispatcher import Next
from bot.events import ButtonPressed, IncomingMessage
from bot.periodic import PeriodicFlush
from insight.queries.activity import MAX_WEEK, activity
from storage.database import Database
from storage.members import insert_for
from storage.records import MemberRecord

log = logging.getLogger("warmline.insight")

WEEK = timedelta(weeks=1)


class ActivityTracker:
    def __init__(self, database: Database, interval: float = 5.0) -> None:
        self.database = database
        self._bits: dict[int, int] = {}
        self._periodic = PeriodicFlush(self.flush, interval, "insight-activity")

    async def middleware(self, call_next: Next, ctx: Context) -> None:
        await call_next(ctx)
        if (
            ctx.member is not None
            and not ctx.data.get("duplicate")
            and isinstance(ctx.event, IncomingMessage | ButtonPressed)
        ):
            self.note(ctx.member, ctx.event.at)

    def note(self, member: MemberRecord, at: datetime) -> None:
        """The member wrote or pressed a button at ``at`` (the simulator's members
        act without the dispatcher and are noted here directly)."""
        week = min(MAX_WEEK, max(0, (at - member.joined_at) // WEEK))
        self._bits[member.id] = self._bits.get(member.id, 0) | (1 << week)

    async def flush(self) -> int:
        """Write the noted bits; returns how many members were written."""
        pending, self._bits = self._bits, {}
        if not pending:
            return 0
        insert = insert_for(self.database.dialect, activity)
        rows = [{"member_id": member_id, "weeks": bits} for member_id, bits in pending.items()]
        statement = insert.on_conflict_do_update(
            index_elements=["member_id"],
            set_={"weeks": activity.c.weeks.op("|")(insert.excluded.weeks)},
        )
        try:
            async with self.database.transaction() as conn:
                await conn.execute(statement, rows)
        except Exception:
            log.exception("could not record activity of %d members; retrying", len(pending))
            for member_id, bits in pending.items():
                self._bits[member_id] = self._bits.get(member_id, 0) | bits
            return 0
        return len(pending)

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
