"""How far an incremental rollup has read its source table (``insight_rollup_marks``).

A rollup reads the rows above its mark, folds them in, and moves the mark up
in the same transaction; a mark never moves down, so a slower concurrent
refresh cannot undo a faster one.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.insight_tables import RollupMark

marks = cast(Table, RollupMark.__table__)


async def read_mark(conn: AsyncConnection, name: str) -> int:
    """The highest id the rollup has folded in (0, and the mark created, the first time)."""
    done = await conn.scalar(select(marks.c.last_id).where(marks.c.name == name))
    if done is None:
        await conn.execute(marks.insert().values(name=name, last_id=0))
        return 0
    return int(done)


async def advance_mark(conn: AsyncConnection, name: str, newest: int) -> None:
    await conn.execute(
        update(marks).where(marks.c.name == name, marks.c.last_id < newest).values(last_id=newest)
    )
