"""SQLite's single write turn, queued in the process instead of in SQLite's busy handler.

SQLite lets one connection write at a time; a writer that finds the file locked sleeps
in SQLite's busy handler, which backs off up to 100 ms a try. The process's writers
queue for this turn instead, and the task holding it is known, so code already inside
its own turn never waits for itself.
"""

from __future__ import annotations

import asyncio
from typing import Any


class WriteTurn:
    """One asyncio lock and the task that holds it."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    async def take(self, timeout: float | None) -> bool:
        """Take the turn for the current task; False when not taken (no task, this
        task holds it already, or ``timeout`` passed: SQLite's own handler decides)."""
        task = asyncio.current_task()
        if task is None or self._owner is task:
            return False
        try:
            if timeout is None:
                await self._lock.acquire()
            else:  # asyncio.timeout, not wait_for: wait_for can swallow a cancellation
                async with asyncio.timeout(timeout):
                    await self._lock.acquire()
        except TimeoutError:
            return False
        self._owner = task
        return True

    def held_by(self, task: asyncio.Task[Any] | None) -> bool:
        return task is not None and self._owner is task

    def release(self) -> None:
        if self._lock.locked():
            self._owner = None
            self._lock.release()
