"""Refill a Redis that lost the gate's keys from the database, before any push is admitted.

The kill switch key is written at start-up and never expires, so its absence means
Redis lost its data (restarted without persistence, flushed, evicted). The admit
and group scripts then answer "lost" instead of deciding; one worker takes a lock,
writes back every member's sends of the last week (caps), the message keys of the
last ``push.key_ttl`` (sent once), the groups' posts of the last day and the
waiting line, and sets the switch last. Until then every worker's promotional
pushes wait (fail closed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from push.contract import Category
from push.history import PushHistory
from push.rules import DAY, WEEK

log = logging.getLogger("warmline.push.restore")

#: how long a worker waits for another one's rebuild before deferring
WAIT_FOR_OTHER = 30.0
_NOT_COUNTED = {category.value for category in Category if category.bypasses_caps}


class RedisRestore:
    def __init__(
        self,
        redis: Redis,
        history: PushHistory,
        prefix: str,
        key_ttl: float,
        default_paused: bool,
        flush_local: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._redis = redis
        self.history = history
        self._prefix = prefix
        self._key_ttl = key_ttl
        self._default_paused = default_paused
        #: the gate's own buffered decisions, written before the history is read
        self.flush_local = flush_local
        self._lock = asyncio.Lock()

    @property
    def switch(self) -> str:
        return self._prefix + "paused"

    async def ensure(self) -> None:
        """Return once Redis holds the gate's state again (rebuilt here or elsewhere)."""
        async with self._lock:  # one rebuild per worker at a time
            if await self._redis.exists(self.switch):
                return
            lock = self._prefix + "restoring"
            if await self._redis.set(lock, b"1", nx=True, px=int(WAIT_FOR_OTHER * 1000)):
                try:
                    await self._rebuild()
                finally:
                    await self._redis.delete(lock)
                return
            deadline = time.monotonic() + WAIT_FOR_OTHER
            while not await self._redis.exists(self.switch):
                if time.monotonic() > deadline:
                    raise TimeoutError("another worker's rebuild of the push state did not end")
                await asyncio.sleep(0.1)

    async def _rebuild(self) -> None:
        started = time.monotonic()
        if self.flush_local is not None:
            await self.flush_local()
        now_ms = int(time.time() * 1000)
        since = datetime.now(UTC) - timedelta(seconds=max(self._key_ttl, WEEK))
        key_ttl_ms = int(self._key_ttl * 1000)
        pipe = self._redis.pipeline(transaction=False)
        rows = members = 0
        touched: set[str] = set()
        async for row in self.history.sent_since(since):
            at_ms = int(row.at.timestamp() * 1000)
            if row.member_id is not None:
                base = f"{self._prefix}{{{row.member_id}}}:"
                if at_ms > now_ms - key_ttl_ms:
                    pipe.zadd(base + "keys", {row.key: at_ms})
                    touched.add(base + "keys")
                if at_ms > now_ms - WEEK * 1000 and row.category not in _NOT_COUNTED:
                    pipe.zadd(base + "log", {f"{row.category}|{row.key}": at_ms})
                    touched.add(base + "log")
            elif row.chat_key is not None and at_ms > now_ms - DAY * 1000:
                pipe.zadd(f"{self._prefix}group:{row.chat_key}", {row.key: at_ms})
                touched.add(f"{self._prefix}group:{row.chat_key}")
            rows += 1
            if len(pipe) >= 2000:
                await pipe.execute()
        for waiting in await self.history.waiting():
            base = f"{self._prefix}{{{waiting.member_id}}}:"
            pipe.zadd(base + "wait", {waiting.key: int(waiting.due_at.timestamp() * 1000)})
            pipe.hset(base + "wprio", waiting.key, f"{waiting.priority}|{waiting.seq}")
            touched.update((base + "wait", base + "wprio"))
        for key in touched:
            members += key.endswith(":log")
            ttl = DAY if ":group:" in key else WEEK if key.endswith(":log") else self._key_ttl
            pipe.pexpire(key, int(ttl * 1000))
            if len(pipe) >= 2000:
                await pipe.execute()
        paused = await self.history.paused()
        flag = self._default_paused if paused is None else paused
        pipe.set(self.switch, "1" if flag else "0")  # last: "the state is whole again"
        await pipe.execute()
        log.warning(
            "Redis had lost the push gate's state: rebuilt from %d recorded sends "
            "(%d members with sends this week) in %.1fs",
            rows,
            members,
            time.monotonic() - started,
        )
