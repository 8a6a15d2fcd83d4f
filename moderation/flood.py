"""How many messages a member sent in a group recently: in memory or in Redis.

The Redis counter is shared by every worker, so a flood spread over several
workers is still seen as one. Keys end in ``<platform>:<user id>`` so that
``/forgetme`` finds them.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis

from bot.events import ChatRef, UserRef


class FloodCounter(Protocol):
    async def hit(self, chat: ChatRef, user: UserRef, at: datetime, window: timedelta) -> int:
        """Count one message; return the member's messages within ``window``."""

    async def forget_user(self, platform: str, user_id: str) -> None: ...


class MemoryFloodCounter:
    def __init__(self, max_tracked: int = 50_000) -> None:
        self._max = max_tracked
        self._hits: OrderedDict[tuple[str, str, str], deque[float]] = OrderedDict()

    async def hit(self, chat: ChatRef, user: UserRef, at: datetime, window: timedelta) -> int:
        key = (chat.platform, chat.id, user.id)
        now = at.timestamp()
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        self._hits.move_to_end(key)
        hits.append(now)
        horizon = now - window.total_seconds()
        while hits and hits[0] <= horizon:
            hits.popleft()
        while len(self._hits) > self._max:
            self._hits.popitem(last=False)
        return len(hits)

    async def forget_user(self, platform: str, user_id: str) -> None:
        for key in [k for k in self._hits if k[0] == platform and k[2] == user_id]:
            del self._hits[key]

    def tracked(self, platform: str, user_id: str) -> int:
        return sum(1 for k in self._hits if k[0] == platform and k[2] == user_id)


class RedisFloodCounter:
    def __init__(self, redis: Redis, prefix: str = "wl:flood:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def hit(self, chat: ChatRef, user: UserRef, at: datetime, window: timedelta) -> int:
        key = f"{self._prefix}{chat.id}:{user.platform}:{user.id}"
        now = at.timestamp()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {f"{now}:{secrets.token_hex(4)}": now})
            pipe.zremrangebyscore(key, "-inf", now - window.total_seconds())
            pipe.zcard(key)
            pipe.pexpire(key, max(1, int(window.total_seconds() * 1000)))
            results = await pipe.execute()
        return int(results[2])

    async def forget_user(self, platform: str, user_id: str) -> None:
        async for key in self._redis.scan_iter(match=f"{self._prefix}*:{platform}:{user_id}"):
            await self._redis.delete(key)
