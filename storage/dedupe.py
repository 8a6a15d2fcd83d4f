"""Update ledger: "have we handled this platform update already?".

One contract, three backends. ``claim`` is atomic in each, so two workers
sharing a database or Redis never both handle the same update.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import delete

from storage.database import Database
from storage.members import insert_for
from storage.tables import ProcessedUpdate


class UpdateLedger(Protocol):
    async def claim(self, key: str) -> bool:
        """True the first time ``key`` is seen (the caller handles it), else False."""

    async def release(self, key: str) -> None:
        """Forget ``key`` so that a redelivery is handled again."""


class MemoryLedger:
    """One process only; bounded so a long-running bot does not grow forever."""

    def __init__(self, ttl: timedelta = timedelta(days=2), max_keys: int = 200_000) -> None:
        self._ttl = ttl.total_seconds()
        self._max = max_keys
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def claim(self, key: str) -> bool:
        now = time.monotonic()
        seen_at = self._seen.get(key)
        if seen_at is not None and now - seen_at < self._ttl:
            return False
        self._seen[key] = now
        self._seen.move_to_end(key)
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return True

    async def release(self, key: str) -> None:
        self._seen.pop(key, None)


class SqlLedger:
    """Exact across workers through the primary key of ``processed_updates``."""

    def __init__(self, db: Database, ttl: timedelta = timedelta(days=2)) -> None:
        self._db = db
        self._ttl = ttl

    async def claim(self, key: str) -> bool:
        stmt = (
            insert_for(self._db.dialect, ProcessedUpdate)
            .values(key=key, at=datetime.now(UTC))
            .on_conflict_do_nothing(index_elements=[ProcessedUpdate.key])
        )
        async with self._db.session() as session, session.begin():
            result = await session.execute(stmt)
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release(self, key: str) -> None:
        async with self._db.session() as session, session.begin():
            await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.key == key))

    async def prune(self) -> int:
        """Drop keys older than the TTL; returns how many went."""
        cutoff = datetime.now(UTC) - self._ttl
        async with self._db.session() as session, session.begin():
            result = await session.execute(
                delete(ProcessedUpdate).where(ProcessedUpdate.at < cutoff)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]


class RedisLedger:
    """Exact across workers through ``SET NX``; keys expire after the TTL."""

    def __init__(
        self, redis: Redis, ttl: timedelta = timedelta(days=2), prefix: str = "wl:upd:"
    ) -> None:
        self._redis = redis
        self._ttl_ms = int(ttl.total_seconds() * 1000)
        self._prefix = prefix

    async def claim(self, key: str) -> bool:
        return bool(await self._redis.set(self._prefix + key, b"1", nx=True, px=self._ttl_ms))

    async def release(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)


class FallbackLedger:
    """Redis first; while Redis cannot be reached, the database.

    Replies go on through a Redis outage. For ``recheck`` seconds after this worker
    last failed over, a key Redis calls new is claimed in the database too, so an
    update claimed there during the outage is not handled again once Redis is back.
    """

    def __init__(self, primary: RedisLedger, fallback: SqlLedger, recheck: float = 600.0) -> None:
        self._primary = primary
        self._fallback = fallback
        self._recheck = recheck
        #: monotonic time of the last failover: until ``recheck`` later, a key Redis
        #: calls new is claimed in the database too (it may have been claimed there)
        self._failed_at: float | None = None

    async def claim(self, key: str) -> bool:
        try:
            fresh = await self._primary.claim(key)
        except (RedisError, OSError):
            self._failed_at = time.monotonic()
            return await self._fallback.claim(key)
        if fresh and self._failed_at is not None:
            if time.monotonic() - self._failed_at > self._recheck:
                self._failed_at = None
            else:
                return await self._fallback.claim(key)
        return fresh

    async def release(self, key: str) -> None:
        try:
            await self._primary.release(key)
        except (RedisError, OSError):
            self._failed_at = time.monotonic()
        await self._fallback.release(key)
