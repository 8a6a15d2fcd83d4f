"""Member activity for retention, seen where it happens: in the dispatcher.

Other features record some actions in ``interactions`` (``/start``, answered
questions, opt-ins) but not every message or button press. This middleware
notes, for each member who writes or presses a button, the week since
joining in which they did it, and folds the bits into ``insight_activity``
every few seconds (OR, so nothing is counted twice). A crash loses at most
one interval of activity bits, never a message.

A member can be erased (``/forgetme``) between being noted and the flush; the
confirming button press itself is noted after the erasure. Rows are therefore
written only for members that still exist, and a row that fails on its own
never holds back the others.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.context import Context
from bot.dispatcher import Next
from bot.events import ButtonPressed, IncomingMessage
from bot.periodic import PeriodicFlush
from insight.queries.activity import MAX_WEEK, activity
from storage.bulk import Bulk
from storage.database import Database
from storage.members import insert_for
from storage.privacy import MemberDataHook
from storage.records import MemberRecord
from storage.tables import Member

log = logging.getLogger("warmline.insight")

WEEK = timedelta(weeks=1)
members = Member.__table__
#: member ids looked up per statement
CHUNK = 500


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

    def forget(self, member_id: int) -> None:
        """Drop what is noted about an erased member (it is never written)."""
        self._bits.pop(member_id, None)

    def privacy_hook(self) -> MemberDataHook:
        """``/mydata`` shows the weeks noted but not yet written; ``/forgetme`` drops them."""

        async def export(member: MemberRecord) -> dict[str, int]:
            return {"active_weeks_not_yet_written": self._bits.get(member.id, 0)}

        async def erase(member: MemberRecord) -> None:
            self.forget(member.id)

        return MemberDataHook("activity_tracker", export, erase)

    async def flush(self) -> int:
        """Write the noted bits of members that still exist; returns how many were
        written. Bits that could not be written are kept for the next flush."""
        pending, self._bits = self._bits, {}
        if not pending:
            return 0
        rows = [{"member_id": member_id, "weeks": bits} for member_id, bits in pending.items()]
        try:
            async with self.database.transaction() as conn:
                return await _write(conn, rows)
        except Exception as exc:
            log.warning(
                "could not record activity of %d members at once (%s); one by one", len(rows), exc
            )
        return await self._write_each(rows)

    async def _write_each(self, rows: list[dict[str, Any]]) -> int:
        """Each row in its own transaction: one that fails is kept for the next flush
        (dropped if its member is gone), the others are written."""
        written = 0
        for index, row in enumerate(rows):
            try:
                async with self.database.transaction() as conn:
                    written += await _write(conn, [row])
                continue
            except Exception:
                failed = row
            try:
                async with self.database.transaction() as conn:
                    exists = await conn.scalar(
                        select(members.c.id).where(members.c.id == failed["member_id"])
                    )
            except Exception:
                log.exception("database unavailable; %d members' activity kept", len(rows) - index)
                self._keep(rows[index:])
                return written
            if exists is not None:
                log.exception("could not record activity of member %s; kept", failed["member_id"])
                self._keep([failed])
        return written

    def _keep(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            member_id = row["member_id"]
            self._bits[member_id] = self._bits.get(member_id, 0) | row["weeks"]

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()


async def _write(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    """OR the bits into the rollup for the members among ``rows`` that still exist;
    returns how many were written."""
    ids = [row["member_id"] for row in rows]
    existing: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        existing.update(
            await conn.scalars(
                select(members.c.id).where(members.c.id.in_(ids[start : start + CHUNK]))
            )
        )
    kept = [(row["member_id"], row["weeks"]) for row in rows if row["member_id"] in existing]
    if not kept:
        return 0
    await _upsert(conn.dialect.name).run(conn, kept)
    return len(kept)


#: the rollup's upsert per dialect, built once (a week's flush writes thousands of rows)
_UPSERTS: dict[str, Bulk] = {}


def _upsert(dialect: str) -> Bulk:
    found = _UPSERTS.get(dialect)
    if found is None:
        insert = insert_for(dialect, activity)
        statement = insert.on_conflict_do_update(
            index_elements=["member_id"],
            set_={"weeks": activity.c.weeks.op("|")(insert.excluded.weeks)},
        )
        found = _UPSERTS[dialect] = Bulk(statement, ("member_id", "weeks"))
    return found
