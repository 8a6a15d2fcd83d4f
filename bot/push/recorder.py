"""Every decision goes to ``push_decisions``, written in batches off the hot path."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from storage.push import DecisionLog, DecisionRow

log = logging.getLogger("warmline.push.decisions")


class DecisionRecorder:
    """Buffers rows and flushes them every ``interval`` (and on demand, and on stop).

    Recording must not slow the gate down to database speed; the price is that
    a crash loses at most ``interval`` of decision *records* (never messages).
    """

    def __init__(self, decisions: DecisionLog, interval: float = 0.5, max_rows: int = 2000) -> None:
        self.decisions = decisions
        self._interval = interval
        self._max_rows = max_rows
        self._rows: list[DecisionRow] = []
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def record(self, row: DecisionRow) -> None:
        self._rows.append(row)

    async def flush(self) -> None:
        async with self._lock:
            while self._rows:
                batch, self._rows = self._rows[: self._max_rows], self._rows[self._max_rows :]
                try:
                    await self.decisions.write(batch)
                except Exception:
                    log.exception("could not record %d push decisions; retrying", len(batch))
                    self._rows[:0] = batch
                    return

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="push-decisions")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
