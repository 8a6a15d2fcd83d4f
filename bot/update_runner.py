"""Runs updates concurrently across chats, in order within a chat, and drains
in-flight work on shutdown. A caller that must know how an update ended (the
durable intake, to take it out of the inbox) passes ``done``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.events import Event

#: told the handler's result (the dispatcher's context), or None when it raised
Done = Callable[[object], Awaitable[None]]

log = logging.getLogger("warmline.runner")


class UpdateRunner:
    def __init__(
        self, handle: Callable[[Event], Awaitable[object]], max_concurrent: int = 64
    ) -> None:
        self._handle = handle
        self._slots = asyncio.Semaphore(max_concurrent)
        self._tails: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._idle = asyncio.Event()
        self._idle.set()

    async def submit(self, event: Event, done: Done | None = None) -> None:
        """Accept an event; returns once it is queued, not when it is handled."""
        if self._closing:
            log.warning("shutting down: update %s not accepted", event.update_key)
            return
        key = event.chat.key
        previous = self._tails.get(key)
        task = asyncio.create_task(self._run(event, previous, done))
        self._tails[key] = task
        self._tasks.add(task)
        self._idle.clear()
        task.add_done_callback(lambda done: self._forget(key, done))

    async def _run(
        self, event: Event, previous: asyncio.Task[None] | None, done: Done | None
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        async with self._slots:
            result: object = None
            try:
                result = await self._handle(event)
            except Exception:  # the dispatcher isolates errors; this is the last net
                log.exception("update %s escaped the dispatcher", event.update_key)
            if done is not None:
                try:
                    await done(result)
                except Exception:
                    log.exception("update %s: could not record how it ended", event.update_key)

    def _forget(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._tails.get(key) is task:
            del self._tails[key]
        if not self._tasks:
            self._idle.set()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def wait_idle(self) -> None:
        """Return once every accepted update has been handled."""
        await self._idle.wait()

    async def drain(self, timeout: float = 30.0) -> None:
        """Stop accepting and wait (up to ``timeout``) for in-flight updates."""
        self._closing = True
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("%d updates cancelled at shutdown after %.0fs", len(pending), timeout)
