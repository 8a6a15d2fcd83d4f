"""Password guessing is slowed where it costs nothing: before the hash.

Each user name may fail ``per_user`` times and each client address try
``per_address`` times in a rolling ``window``; beyond that the login answers
429 with ``Retry-After`` without hashing anything. The scrypt check itself
runs in a worker thread, one at a time, so a flood of guesses costs at most
one core and never the event loop that answers members.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from insight.passwords import verify_password

#: more attempts than this waiting for the hasher: refused at once, not queued
MAX_WAITING = 8


class LoginThrottle:
    def __init__(
        self,
        per_user: int,
        per_address: int,
        window: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_user = per_user
        self._per_address = per_address
        self._window = window
        self._monotonic = monotonic
        self._failures: dict[str, deque[float]] = {}
        self._attempts: dict[str, deque[float]] = {}
        self._hasher = asyncio.Semaphore(1)
        self._waiting = 0

    def retry_after(self, username: str, address: str) -> float | None:
        """Seconds until this user name and address may try again; None: now."""
        now = self._monotonic()
        waits = [
            self._blocked(self._failures, "u:" + username, self._per_user, now),
            self._blocked(self._attempts, address, self._per_address, now),
        ]
        if self._waiting >= MAX_WAITING:
            waits.append(1.0)
        blocked = [w for w in waits if w is not None]
        return max(blocked) if blocked else None

    async def verify(self, username: str, address: str, password: str, stored: str) -> bool:
        """Check the password off the event loop, counting the attempt."""
        now = self._monotonic()
        self._note(self._attempts, address, now)
        self._waiting += 1
        try:
            async with self._hasher:
                ok = await asyncio.to_thread(verify_password, password, stored)
        finally:
            self._waiting -= 1
        if not ok:
            self._note(self._failures, "u:" + username, self._monotonic())
        return ok

    def succeeded(self, username: str) -> None:
        self._failures.pop("u:" + username, None)

    def _blocked(
        self, book: dict[str, deque[float]], key: str, limit: int, now: float
    ) -> float | None:
        times = book.get(key)
        if not times:
            return None
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del book[key]
            return None
        if len(times) < limit:
            return None
        return times[len(times) - limit] + self._window - now

    def _note(self, book: dict[str, deque[float]], key: str, now: float) -> None:
        book.setdefault(key, deque()).append(now)
        if len(book) > 10_000:  # forget the stale ones (a spray of user names)
            for stale in [k for k, v in book.items() if not v or v[-1] <= now - self._window]:
                del book[stale]
