"""A worker's PostgreSQL connections are bounded, and a burst waits for one."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, text

from storage.database import Database


async def test_a_burst_waits_for_the_bounded_pool_instead_of_failing(pg_url: str) -> None:
    db = Database(pg_url, pool_size=2, max_overflow=1, pool_timeout=30)
    seen: list[int] = []
    try:

        async def query() -> None:
            async with db.reading() as conn:
                await conn.execute(text("SELECT pg_sleep(0.05)"))
                seen.append(db.engine.pool.checkedout())  # type: ignore[attr-defined]

        # 40 updates at once, as a webhook burst with max_concurrent_updates 64 would be
        await asyncio.gather(*(query() for _ in range(40)))
    finally:
        await db.close()
    assert len(seen) == 40  # none failed with "too many connections" or a pool timeout
    assert max(seen) <= 3  # pool_size + max_overflow


async def _backends(db: Database) -> int:
    """Server backends connected to the test database (this query's own included)."""
    async with db.reading() as conn:
        return int(
            (
                await conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
                )
            ).scalar_one()
        )


async def _settled_backends(db: Database, want: int, patience: float = 5.0) -> int:
    """The backend count once it is ``want`` (a closed connection's backend takes a
    moment to leave pg_stat_activity), or the last one seen after ``patience`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    seen = await _backends(db)
    while seen != want and loop.time() < deadline:
        await asyncio.sleep(0.05)
        seen = await _backends(db)
    return seen


async def test_bursts_reuse_the_overflow_until_it_sat_idle(pg_url: str) -> None:
    """QueuePool alone closed an overflow connection whenever one came back while
    pool_size others were idle: every burst reconnected dozens of times."""
    idle = 1.5  # storage.pool.OVERFLOW_IDLE, made short
    db = Database(pg_url, pool_size=2, max_overflow=3, pool_timeout=30, overflow_idle=idle)
    opened: list[object] = []
    event.listen(db.engine.sync_engine, "connect", lambda conn, _record: opened.append(conn))

    async def query() -> None:
        async with db.reading() as conn:
            await conn.execute(text("SELECT pg_sleep(0.01)"))

    try:
        await asyncio.gather(*(query() for _ in range(60)))
        assert len(opened) == 5  # pool_size + max_overflow, none closed and opened again
        await asyncio.gather(*(query() for _ in range(60)))
        assert len(opened) == 5  # the second burst found them all open
        assert await _settled_backends(db, 5) == 5
        await query()  # given back within the idle time: kept
        assert await _settled_backends(db, 5) == 5
        await asyncio.sleep(idle + 0.2)
        for _ in range(4):  # each one given back now closes a connection above pool_size
            await query()
        assert await _settled_backends(db, 2) == 2
        assert len(opened) == 5
        await asyncio.gather(*(query() for _ in range(60)))  # the next burst opens them again
        assert len(opened) == 8
        assert await _settled_backends(db, 5) == 5
    finally:
        await db.close()
