"""Deliver at the platform's pace: overall rate, per chat, per group; honour 429s.

Each send books the earliest instant that satisfies every limit, then sleeps
until it; booking is atomic, so concurrent senders never overbook. A
``RateLimited`` error holds *all* sending for ``retry_after`` and retries the
same message up to ``push.pacing.max_retries`` times (the adapters report 429s
and never sleep them out, so this is their one owner for pushes).

The platform's limits are per bot, not per process: with Redis configured the
bookings live there (:class:`SharedPacer`, one Lua script on Redis's clock), so
N workers together keep ``push.pacing.per_second``; without Redis the one
process books in memory (:class:`Pacer`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.adapter import Pacing
from bot.errors import RateLimited, TransientError
from bot.events import ChatRef, OutgoingMessage, SentMessage
from push.config import PacingConfig

log = logging.getLogger("warmline.push.pacing")

Sleep = Callable[[float], Awaitable[None]]
#: asked after the pacer's wait, right before the platform call: False = do not send
Ready = Callable[[], Awaitable[bool]]


class Pace(Protocol):
    async def wait(self, chat: ChatRef) -> None:
        """Return when ``chat`` may be sent to (the slot is then taken)."""

    async def throttle(self, seconds: float) -> None:
        """The platform said "too many requests": nobody sends for ``seconds``."""


def limits_of(config: PacingConfig | Pacing) -> Pacing:
    """The limits to keep: ``push.pacing`` over the platform's (or the adapter's own)."""
    return config if isinstance(config, Pacing) else config.over(Pacing())


class Pacer:
    def __init__(
        self,
        config: PacingConfig | Pacing,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        config = limits_of(config)
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

    async def throttle(self, seconds: float) -> None:
        self.hold(seconds)


#: KEYS: next overall slot, chat's next slot, group's recent slots, hold-until.
#: ARGV: overall interval, chat interval (µs), group limit (0: a private chat), a nonce.
#: Times are µs on Redis's clock, so every worker books against the same one.
_BOOK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'),
  tonumber(redis.call('GET', KEYS[2]) or '0'), tonumber(redis.call('GET', KEYS[4]) or '0'))
local limit = tonumber(ARGV[3])
if limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%.0f', slot - 60000000))
  local n = redis.call('ZCARD', KEYS[3])
  if n >= limit then
    local edge = redis.call('ZRANGE', KEYS[3], n - limit, n - limit, 'WITHSCORES')
    slot = math.max(slot, tonumber(edge[2]) + 60000000)
  end
  redis.call('ZADD', KEYS[3], string.format('%.0f', slot), string.format('%.0f', slot) .. ARGV[4])
  redis.call('PEXPIRE', KEYS[3], 120000)
end
local nxt = slot + tonumber(ARGV[1])
local ttl = math.floor((nxt - now) / 1000) + 60000
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', ttl)
local chat = slot + tonumber(ARGV[2])
redis.call('SET', KEYS[2], string.format('%.0f', chat), 'PX', math.floor((chat - now) / 1000) + 1000)
return string.format('%.0f', slot - now)
"""
#: The hard cap, checked right before each send: at most ARGV[1] admissions in any
#: sliding window of ARGV[3] µs on Redis's clock (KEYS[1]: sorted set of admission
#: instants). Returns 0 when admitted (recorded), else µs until the oldest leaves it.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return string.format('%.0f', tonumber(oldest[2]) + window - now + 1)
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now), string.format('%.0f', now) .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], math.floor(window / 1000) + 1000)
return '0'
"""
_HOLD = """
local t = redis.call('TIME')
local until_us = tonumber(t[1]) * 1000000 + tonumber(t[2]) + tonumber(ARGV[1])
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_us > held then
  redis.call('SET', KEYS[1], string.format('%.0f', until_us), 'PX', math.floor(tonumber(ARGV[1]) / 1000) + 1000)
end
return 1
"""


#: seconds added to the sliding window (see SharedPacer): ~5% of the rate at saturation
ADMISSION_MARGIN = 0.05
#: a worker that keeps waking up late still sends after this many bookings
_REBOOKS = 5


class SharedPacer:
    """The limits held by every worker of one bot together, booked in Redis.

    When Redis cannot be reached a worker books in memory with the same limits
    (each worker then keeps them on its own), and says so once per outage."""

    def __init__(
        self,
        redis: Redis,
        config: PacingConfig | Pacing,
        prefix: str = "wl:pace:",
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        config = limits_of(config)
        self._interval_us = round(1_000_000 / config.per_second)
        #: the cap as a count per sliding window: per second, or one per 1/rate when
        #: slower; the window is longer by a margin for the jitter between admission
        #: and the request reaching the platform, which sees the sends, not the admissions
        window_us = max(1_000_000, self._interval_us)
        self._per_window = max(1, int(config.per_second * window_us / 1_000_000))
        self._window_us = window_us + round(ADMISSION_MARGIN * 1_000_000)
        #: woken later than this after the slot: book again
        self._tolerance = max(0.05, 1.0 / config.per_second)
        self._monotonic = monotonic
        self._chat_interval_us = round(1_000_000 / config.per_chat_per_second)
        self._group_limit = config.per_group_per_minute
        self._prefix = prefix
        self._sleep = sleep
        self._book = redis.register_script(_BOOK)
        self._hold = redis.register_script(_HOLD)
        self._admit = redis.register_script(_ADMIT)
        self._local = Pacer(config, sleep=sleep)
        self._degraded = False

    def _keys(self, chat: ChatRef) -> list[str]:
        p = self._prefix
        return [p + "next", f"{p}chat:{chat.id}", f"{p}group:{chat.id}", p + "held"]

    async def wait(self, chat: ChatRef) -> None:
        # A slot is an instant shared with the other workers. A process that wakes up
        # well after its slot (a stalled or starved machine) books a new one instead
        # of sending late, which would bunch its sends with everyone's on-time ones.
        for _ in range(_REBOOKS):
            booked = self._monotonic()
            delay = await self._booking(chat)
            if delay is None:
                await self._local.wait(chat)
                return
            if delay > 0:
                await self._sleep(delay)
            if self._monotonic() - booked - delay <= self._tolerance:
                break
        # Slots spread the senders out; the sliding window is the cap itself: sends
        # that still bunch (late wake-ups, slow hosts) wait for the window to move on.
        await self._admitted()

    async def _admitted(self) -> None:
        while True:
            try:
                wait_us = int(
                    await self._admit(
                        keys=[self._prefix + "window"],
                        args=[self._per_window, ":" + secrets.token_hex(4), self._window_us],
                    )
                )
            except (RedisError, OSError) as exc:
                log.warning("pacing: Redis unreachable at admission (%s); sending", exc)
                return
            if wait_us <= 0:
                return
            await self._sleep(wait_us / 1_000_000)

    async def _booking(self, chat: ChatRef) -> float | None:
        """Seconds until the booked slot; None when Redis is unreachable."""
        group = 0 if chat.is_private else self._group_limit
        args: list[int | str] = [
            self._interval_us,
            self._chat_interval_us,
            group,
            ":" + secrets.token_hex(4),
        ]
        try:
            delay_us = int(await self._book(keys=self._keys(chat), args=args))
        except (RedisError, OSError) as exc:
            if not self._degraded:
                log.warning("pacing: Redis unreachable (%s); pacing this worker alone", exc)
                self._degraded = True
            return None
        if self._degraded:
            log.warning("pacing: Redis is back; pacing shared by all workers again")
            self._degraded = False
        return max(0.0, delay_us / 1_000_000)

    async def throttle(self, seconds: float) -> None:
        self._local.hold(seconds)
        try:
            await self._hold(keys=[self._prefix + "held"], args=[round(seconds * 1_000_000)])
        except (RedisError, OSError) as exc:
            log.warning("pacing: could not share a 429 hold through Redis: %s", exc)


class OnceSender(Protocol):
    async def send_once(self, message: OutgoingMessage) -> SentMessage:
        """One try once the bot's global hold is over; a 429 sets the hold and is raised."""


class PacedSender:
    """Sends at the pacer's pace; the one place a push is tried again.

    A 429 from the platform holds every send of the bot (the outbound door holds
    this process, the pacer every worker sharing it) and the message is tried
    again, at most ``max_retries`` times, like network errors."""

    def __init__(self, adapter: OnceSender, pacer: Pace, max_retries: int = 5) -> None:
        self._adapter = adapter
        self._pacer = pacer
        self._max_retries = max_retries
        self.rate_limited = 0

    async def send(
        self, message: OutgoingMessage, ready: Ready | None = None
    ) -> SentMessage | None:
        """Send once the pace allows; None when ``ready`` (asked once, after the first
        wait) says the message must not be sent after all."""
        attempt = 0
        while True:
            await self._pacer.wait(message.chat)
            if ready is not None:
                if not await ready():
                    return None
                ready = None
            try:
                return await self._adapter.send_once(message)
            except RateLimited as exc:
                self.rate_limited += 1
                await self._pacer.throttle(exc.retry_after)
                if attempt >= self._max_retries:
                    raise
            except TransientError:
                if attempt >= self._max_retries:
                    raise
                await asyncio.sleep(min(30.0, 0.5 * 2**attempt))
            attempt += 1
