"""A background flush on a fixed interval, with one last flush on stop.

Write-behind buffers (gate decisions, member activity) keep the hot path off the
database; this is the one loop they share.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class PeriodicFlush:
    def __init__(self, flush: Callable[[], Awaitable[object]], interval: float, name: str) -> None:
        self._flush = flush
        self.interval = interval
        self._name = name
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self._flush()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        """Stop the loop, then flush what is still buffered."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._flush()
