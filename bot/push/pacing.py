"""Deliver at the platform's pace: overall rate, per chat, per group; honour 429s.

Each send books the earliest instant that satisfies every limit, then sleeps
until it; booking is synchronous, so concurrent senders never overbook. A
``RateLimited`` error holds *all* sending for ``retry_after`` and retries the
same message, so a 429 never loses one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from bot.adapter import Adapter
from bot.config.push import PacingConfig
from bot.errors import RateLimited, TransientError
from bot.events import ChatRef, OutgoingMessage, SentMessage

log = logging.getLogger("warmline.push.pacing")

Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    def __init__(
        self,
        config: PacingConfig,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / config.per_second
        self._chat_interval = 1.0 / config.per_chat_per_second
        self._group_limit = config.per_group_per_minute
        self._monotonic = monotonic
        self._sleep = sleep
        self._next = 0.0
        self._held_until = 0.0
        self._chats: dict[str, float] = {}
        self._groups: dict[str, deque[float]] = {}

    def book(self, chat: ChatRef) -> float:
        """Reserve the earliest allowed send time for ``chat`` and return it."""
        now = self._monotonic()
        slot = max(now, self._next, self._held_until, self._chats.get(chat.id, 0.0))
        if not chat.is_private:
            recent = self._groups.setdefault(chat.id, deque())
            while recent and recent[0] <= slot - 60.0:
                recent.popleft()
            if len(recent) >= self._group_limit:
                slot = max(slot, recent[len(recent) - self._group_limit] + 60.0)
            recent.append(slot)
        self._next = slot + self._interval
        self._chats[chat.id] = slot + self._chat_interval
        if len(self._chats) > 50_000:
            self._chats = {k: v for k, v in self._chats.items() if v > now}
        return slot

    async def wait(self, chat: ChatRef) -> None:
        delay = self.book(chat) - self._monotonic()
        if delay > 0:
            await self._sleep(delay)

    def hold(self, seconds: float) -> None:
        """The platform said "too many requests": nobody sends for ``seconds``."""
        self._held_until = max(self._held_until, self._monotonic() + seconds)


class PacedSender:
    """Sends through the adapter at the pacer's pace, retrying 429s and network errors."""

    def __init__(self, adapter: Adapter, pacer: Pacer, max_retries: int = 5) -> None:
        self._adapter = adapter
        self._pacer = pacer
        self._max_retries = max_retries
        self.rate_limited = 0

    async def send(self, message: OutgoingMessage) -> SentMessage:
        attempt = 0
        while True:
            await self._pacer.wait(message.chat)
            try:
                return await self._adapter.send(message)
            except RateLimited as exc:
                self.rate_limited += 1
                self._pacer.hold(exc.retry_after)
                log.warning("429 from the platform: holding sends for %.1fs", exc.retry_after)
                if attempt >= self._max_retries:
                    raise
            except TransientError:
                if attempt >= self._max_retries:
                    raise
                await asyncio.sleep(min(30.0, 0.5 * 2**attempt))
            attempt += 1
