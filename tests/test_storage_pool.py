"""A worker's PostgreSQL connections are bounded, and a burst waits for one."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

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
