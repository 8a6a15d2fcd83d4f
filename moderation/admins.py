"""Who administers a group, asked of the platform and trusted for a short while."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock
from bot.events import ChatRef
from bot.outbound import Outbound


class AdminCache:
    """One ``list_admins`` call per group per ``ttl`` (0: ask every time)."""

    def __init__(self, adapter: Outbound, clock: Clock, ttl: timedelta, max_chats: int = 10_000):
        self._adapter = adapter
        self._clock = clock
        self._ttl = ttl
        self._max = max_chats
        self._cache: dict[tuple[str, str], tuple[datetime, frozenset[str]]] = {}

    async def admin_ids(self, chat: ChatRef) -> frozenset[str]:
        """The group's administrators (none where the platform cannot list them)."""
        if not self._adapter.capabilities.moderate:
            return frozenset()
        now = self._clock.now()
        cached = self._cache.get(chat.key)
        if cached is not None and cached[0] > now:
            return cached[1]
        ids = frozenset(user.id for user in await self._adapter.list_admins(chat))
        if len(self._cache) >= self._max:
            self._cache.clear()
        self._cache[chat.key] = (now + self._ttl, ids)
        return ids

    async def is_admin(self, chat: ChatRef, user_id: str) -> bool:
        return user_id in await self.admin_ids(chat)

    def forget(self, chat: ChatRef) -> None:
        self._cache.pop(chat.key, None)
