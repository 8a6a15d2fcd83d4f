"""The neutral scheduling interface other features use (``services.require(Scheduler)``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class Scheduler(Protocol):
    async def schedule(
        self, key: str, run_at: datetime, target: str, kwargs: dict[str, Any] | None = None
    ) -> bool:
        """Run ``target`` ("package.module:function") at ``run_at`` with ``kwargs``.

        The target is ``async def f(services: Services, **kwargs) -> None``.
        ``key`` names the job: scheduling an existing key again changes
        nothing and returns False. ``kwargs`` must be JSON-like (they are
        stored). A run is claimed by its key and fire time in the update
        ledger first, so a job that is re-run (a worker died before the job
        store was updated) never runs twice.
        """

    async def cancel(self, key: str) -> bool:
        """Forget a job; False when there was none."""
