"""SQLite: writes an update holds until its next transaction, instead of committing each.

On PostgreSQL an update's writes are one transaction (``Database.update_unit``) and a
write nobody reads back rides on the unit's next statement (:mod:`storage.riders`).
SQLite keeps a short transaction per statement there (one writer: a unit would hold the
write lock while its handler runs), which made a ``/start`` commit six times. A write
made with ``Database.write`` inside an update is held here instead, and runs first in
the task's next transaction, before the task reads (so it sees its own writes), and
before its next platform call and the end of the update (``end_update_unit``, so a
noted call is committed before the call goes out, as before). An update that fails
drops what it holds, as a failed PostgreSQL unit does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.prepared import Prepared

Waiting = tuple[Prepared, Mapping[str, Any]]


class HeldWrites:
    """The held writes of each task inside an update, in the order they were made."""

    def __init__(self) -> None:
        self._by_task: dict[asyncio.Task[Any], list[Waiting]] = {}

    def open(self, task: asyncio.Task[Any]) -> bool:
        """Hold ``task``'s writes from now on; False when it does already (a nested
        update is part of the outer one, which closes it)."""
        if task in self._by_task:
            return False
        self._by_task[task] = []
        return True

    def close(self, task: asyncio.Task[Any]) -> None:
        """The update ended: whatever it still holds is dropped."""
        self._by_task.pop(task, None)

    def hold(self, prepared: Prepared, params: Mapping[str, Any]) -> bool:
        """Hold the write for this task; False when it is in no update (run it now)."""
        held = self._mine()
        if held is None:
            return False
        held.append((prepared, params))
        return True

    def pending(self) -> bool:
        return bool(self._mine())

    def take(self) -> list[Waiting]:
        """This task's held writes, no longer held (run them, or :meth:`give_back`)."""
        held = self._mine()
        if not held:
            return []
        taken = held[:]
        held.clear()
        return taken

    def give_back(self, taken: list[Waiting]) -> None:
        """The transaction that ran ``taken`` was rolled back: they are held again,
        before anything held since."""
        held = self._mine()
        if held is not None and taken:
            held[:0] = taken

    def _mine(self) -> list[Waiting] | None:
        if not self._by_task:
            return None
        task = asyncio.current_task()
        return self._by_task.get(task) if task is not None else None


async def run_held(conn: AsyncConnection, taken: list[Waiting]) -> None:
    for prepared, params in taken:
        await prepared.run(conn, params)
