"""Every decision goes to ``push_decisions``, written in batches off the hot path."""

from __future__ import annotations

import asyncio
import logging

from bot.periodic import PeriodicFlush
from push.store import DecisionLog, DecisionRow

log = logging.getLogger("warmline.push.decisions")


class DecisionRecorder:
    """Buffers rows and flushes them every ``interval`` (and on demand, and on stop).

    Recording must not slow the gate down to database speed; the price is that
    a crash loses at most ``interval`` of decision *records* (never messages).
    """

    def __init__(self, decisions: DecisionLog, interval: float = 0.5, max_rows: int = 2000) -> None:
        self.decisions = decisions
        self._max_rows = max_rows
        self._rows: list[DecisionRow] = []
        self._lock = asyncio.Lock()
        self._periodic = PeriodicFlush(self.flush, interval, "push-decisions")

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

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
