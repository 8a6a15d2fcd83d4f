"""Durable intake: an update is acknowledged only once it is in the inbox.

The webhook answers 200 (and polling moves its offset on) only after the raw
update is committed to ``update_inbox``; it is handed to the runner at once and
leaves the inbox when handled. A worker killed at any moment leaves its rows
behind with a lease that runs out, and any worker then takes them. When the
store is down nothing is acknowledged (webhook 503, polling keeps its offset);
when too many updates wait, the webhook answers 429 and polling stops asking,
so the platform keeps them until there is room.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from bot.call_journal import UpdateCalls
from bot.context import Context
from bot.errors import WarmlineError
from bot.events import Event
from bot.outages import StoreUnavailable, is_outage
from bot.update_runner import UpdateRunner
from storage.inbox import SqlInbox, Stored

log = logging.getLogger("warmline.intake")

Raw = dict[str, Any]
Parse = Callable[[Raw], Sequence[Event]]
KeyOf = Callable[[Raw], str]
T = TypeVar("T")
R = TypeVar("R")

#: how often handled keys older than ``storage.dedupe_ttl`` are pruned
PRUNE_EVERY = 600.0
#: the longest wait before an update that met an outage is tried again
MAX_RETRY_DELAY = 5.0


class Overloaded(WarmlineError):
    """More updates wait than ``bot.max_queued_updates``: the platform must hold on."""


class GroupCommit(Generic[T, R]):
    """Callers arriving while a write is in flight share the next one: a burst of
    webhook posts costs a few commits, not one each."""

    def __init__(self, write: Callable[[list[T]], Awaitable[R]]) -> None:
        self._write = write
        self._pending: list[tuple[list[T], asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def __call__(self, items: list[T]) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((items, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                items = [item for part, _ in batch for item in part]
                try:
                    result = await self._write(items)
                except BaseException as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
                for _, future in batch:
                    if not future.done():
                        future.set_result(result)
        finally:
            self._flusher = None


@dataclass
class _Ticket:
    key: str
    raw: Raw
    events: Sequence[Event]
    calls: UpdateCalls
    remaining: int = 0
    outage: bool = False
    attempts: int = 0
    retry: asyncio.Task[None] | None = field(default=None, repr=False)


class DurableIntake:
    def __init__(
        self,
        inbox: SqlInbox,
        runner: UpdateRunner,
        *,
        lease: timedelta = timedelta(seconds=30),
        capacity: int = 1000,
        dedupe_ttl: timedelta = timedelta(days=2),
    ) -> None:
        self.inbox = inbox
        self.runner = runner
        self.lease = lease
        self.capacity = capacity
        self.dedupe_ttl = dedupe_ttl
        self._parse: Parse | None = None
        self._key_of: KeyOf | None = None
        self._held: dict[str, _Ticket] = {}
        self._unfinished: set[str] = set()
        self._room = asyncio.Event()
        self._room.set()
        self._loop: asyncio.Task[None] | None = None
        self._put = GroupCommit(self._write)
        self._finish = GroupCommit(self._write_finished)

    # -- set-up ------------------------------------------------------------------
    def bind(self, parse: Parse, key_of: KeyOf) -> None:
        """How the platform's raw updates become events and inbox keys."""
        self._parse, self._key_of = parse, key_of

    def start(self) -> None:
        """Begin taking over rows whose lease ran out (other workers', or ours from
        before a crash), renewing our leases and pruning old keys."""
        if self._loop is None:
            self._loop = asyncio.create_task(self._maintain(), name="update-inbox")

    async def stop(self) -> None:
        """After the runner drained: give back what was not handled, so any worker
        takes it at once instead of after the lease."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        for ticket in self._held.values():
            if ticket.retry is not None:
                ticket.retry.cancel()
        try:
            if self._unfinished:
                await self.inbox.finish(self._unfinished, _now())
                self._unfinished.clear()
            if self._held:
                await self.inbox.release(self._held, _now())
                log.info(
                    "%d unhandled updates left in the inbox for the next worker", len(self._held)
                )
        except Exception as exc:
            log.warning("could not update the inbox at shutdown (%s); leases run out instead", exc)

    # -- intake ------------------------------------------------------------------
    @property
    def held(self) -> int:
        return len(self._held)

    def holds(self, key: str | None) -> bool:
        """True while ``key`` is being handled through the inbox (no other dedupe needed)."""
        return key is not None and key in self._held

    def calls_of(self, event: Event) -> tuple[UpdateCalls, int] | None:
        """The noted platform calls of the inbox update ``event`` belongs to, and the
        event's place in it (None: not an inbox update)."""
        ticket = self._held.get(event.update_key) if event.update_key is not None else None
        if ticket is None:
            return None
        for index, candidate in enumerate(ticket.events):
            if candidate is event:
                return ticket.calls, index
        return None

    def room(self) -> int:
        return max(0, self.capacity - len(self._held))

    async def wait_for_room(self) -> None:
        while not self.room():
            self._room.clear()
            await self._room.wait()

    async def accept(self, raws: Sequence[Raw]) -> None:
        """Store ``raws`` durably, then start handling the new ones.

        Raises :class:`Overloaded` (nothing stored: too many wait) or
        :class:`StoreUnavailable` (nothing stored: the database is unreachable).
        Returning means every one of them is safe to acknowledge.
        """
        assert self._key_of is not None, "bind() first"
        if len(self._held) + len(raws) > self.capacity:
            raise Overloaded(f"{len(self._held)} updates waiting")
        rows = [Stored(self._key_of(raw), json.dumps(raw, separators=(",", ":"))) for raw in raws]
        try:
            fresh = await self._put(rows)
        except Exception as exc:
            if is_outage(exc):
                raise StoreUnavailable(f"update inbox: {exc}") from exc
            raise
        for row, raw in zip(rows, raws, strict=True):
            if row.key in fresh and row.key not in self._held:
                await self._dispatch(row.key, raw)

    async def _write(self, rows: list[Stored]) -> set[str]:
        return await self.inbox.put(rows, _now(), self.lease)

    async def _write_finished(self, keys: list[str]) -> None:
        await self.inbox.finish(keys, _now())

    # -- handling ----------------------------------------------------------------
    async def _dispatch(self, key: str, raw: Raw, calls: str | None = None) -> None:
        assert self._parse is not None
        events = self._parse(raw)
        ticket = _Ticket(key, raw, events, UpdateCalls.load(key, calls))
        self._held[key] = ticket
        if not events:  # not interesting (or malformed): handled by doing nothing
            await self._done(ticket)
            return
        await self._submit(ticket)

    async def _submit(self, ticket: _Ticket) -> None:
        ticket.remaining = len(ticket.events)
        ticket.outage = False
        done = functools.partial(self._ended, ticket)
        for event in ticket.events:
            await self.runner.submit(event, done)

    async def _ended(self, ticket: _Ticket, result: object) -> None:
        if isinstance(result, Context) and result.data.get("outage"):
            ticket.outage = True
        ticket.remaining -= 1
        if ticket.remaining > 0:
            return
        if ticket.outage:
            delay = min(MAX_RETRY_DELAY, 0.25 * 2**ticket.attempts)
            ticket.attempts += 1
            log.warning("update %s met a store outage; trying again in %.1fs", ticket.key, delay)
            ticket.retry = asyncio.create_task(self._again(ticket, delay))
            return
        await self._done(ticket)

    async def _again(self, ticket: _Ticket, delay: float) -> None:
        await asyncio.sleep(delay)
        ticket.retry = None
        await self._submit(ticket)

    async def _done(self, ticket: _Ticket) -> None:
        try:
            await self._finish([ticket.key])
        except Exception as exc:
            # handled but not yet marked: keep the lease and mark it when the store is back
            log.warning("update %s handled but not marked (%s); will retry", ticket.key, exc)
            self._unfinished.add(ticket.key)
            return
        self._release(ticket.key)

    def _release(self, key: str) -> None:
        self._held.pop(key, None)
        if self.room():
            self._room.set()

    # -- the background loop ------------------------------------------------------
    async def _maintain(self) -> None:
        tick = max(0.2, min(1.0, self.lease.total_seconds() / 4))
        renew_every = self.lease.total_seconds() / 3
        renewed = pruned = 0.0
        while True:
            try:
                now = time.monotonic()
                if self._unfinished:
                    keys = list(self._unfinished)
                    await self._finish(keys)
                    self._unfinished.difference_update(keys)
                    for key in keys:
                        self._release(key)
                if self._held and now - renewed >= renew_every:
                    await self.inbox.renew(list(self._held), _now() + self.lease)
                    renewed = now
                await self._take_over()
                if self.dedupe_ttl and now - pruned >= PRUNE_EVERY:
                    gone = await self.inbox.prune_processed(_now() - self.dedupe_ttl)
                    pruned = now
                    if gone:
                        log.info(
                            "pruned %d handled update keys older than %s", gone, self.dedupe_ttl
                        )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("update inbox upkeep failed (%s); trying again", exc)
            await asyncio.sleep(tick)

    async def _take_over(self) -> None:
        """Handle rows whose lease ran out: a dead worker's, or ours from before a restart."""
        room = self.room()
        if not room:
            return
        for row in await self.inbox.take(room, _now(), self.lease):
            if row.key in self._held:
                continue
            try:
                raw = json.loads(row.raw)
            except ValueError:
                log.warning("inbox row %s is not JSON; dropped", row.key)
                await self._finish([row.key])
                continue
            log.info("taking over update %s from the inbox", row.key)
            await self._dispatch(row.key, raw, row.calls)


def _now() -> datetime:
    return datetime.now(UTC)
