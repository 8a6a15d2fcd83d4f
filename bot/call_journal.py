"""Platform calls made for an update from the inbox are noted before they go out,
so that whoever runs the update again (after a kill -9, or an outage retry) does
not make them a second time.

Without it, a worker killed between a reply and the commit that marks its update
handled answered that update twice: the worker taking it over ran its handlers
again. Now each side-effecting call (send, edit, delete, restrict, ...) made while
handling an inbox update is first written to the update's inbox row
(``update_inbox.calls``), in the same commit as the update's own database work
(see :meth:`storage.database.Database.end_update_unit`), and only then made. A run
of the same update that reaches a call noted by an earlier run skips it: a send
returns the message id the earlier run learnt, and a send whose worker died before
learning it ends the handler quietly (:class:`CallOutcomeUnknown`), since its
message very likely went out.

Calls are matched by position within the update's event, method and target chat,
so a handler that takes another path the second time makes its new calls.

What no design can close: a kill after the note is committed and before the
request has left this process loses that one call (it is never sent twice). The
window holds no network or disk wait, only the few steps from the commit's return
to the socket write.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from bot.errors import WarmlineError
from bot.events import ChatRef, SentMessage
from storage.database import Database
from storage.inbox import SqlInbox

log = logging.getLogger("warmline.calls")

#: a noted call: [method, target, message id learnt (sends) or None]
Noted = list[str | None]


class CallOutcomeUnknown(WarmlineError):
    """An earlier run of this update started this send and died before its answer:
    it is not sent again, and what the handler would have done next is skipped."""


@dataclass
class UpdateCalls:
    """Every call noted for one inbox update, by slot ``"<event>.<n>"``."""

    key: str
    noted: dict[str, Noted] = field(default_factory=dict)

    @classmethod
    def load(cls, key: str, stored: str | None) -> UpdateCalls:
        calls = cls(key)
        if stored:
            try:
                data = json.loads(stored)
            except ValueError:
                log.warning("update %s: its noted calls are not JSON; ignored", key)
                return calls
            if isinstance(data, dict):
                calls.noted = {str(slot): list(entry) for slot, entry in data.items()}
        return calls

    def dump(self) -> str:
        return json.dumps(self.noted, separators=(",", ":"))


@dataclass
class _Cursor:
    calls: UpdateCalls
    event: int
    made: int = 0

    def next_slot(self) -> str:
        slot = f"{self.event}.{self.made}"
        self.made += 1
        return slot


class CallJournal:
    """Which inbox update each running task handles, and the noting of its calls."""

    def __init__(self, inbox: SqlInbox, database: Database) -> None:
        self._inbox = inbox
        self._database = database
        self._running: dict[asyncio.Task[object], _Cursor] = {}

    @contextmanager
    def running(self, calls: UpdateCalls | None, event: int) -> Iterator[None]:
        """The current task handles event number ``event`` of the update ``calls`` is for."""
        task = asyncio.current_task()
        if calls is None or task is None:
            yield
            return
        self._running[task] = _Cursor(calls, event)
        try:
            yield
        finally:
            self._running.pop(task, None)

    def _cursor(self) -> _Cursor | None:
        if not self._running:
            return None
        task = asyncio.current_task()
        return self._running.get(task) if task is not None else None

    async def sent(
        self, method: str, chat: ChatRef, make: Callable[[], Awaitable[SentMessage]]
    ) -> SentMessage:
        """A call that sends a message: noted, made, and its message id kept."""
        cursor = self._cursor()
        if cursor is None:
            return await make()
        slot = cursor.next_slot()
        earlier = self._earlier(cursor, slot, method, chat.id)
        if earlier is not None:
            if earlier[2] is None:
                raise CallOutcomeUnknown(
                    f"update {cursor.calls.key}: {method} to chat {chat.id} was started by a "
                    "worker that died before its answer; not sent again"
                )
            return SentMessage(chat, earlier[2])
        await self._note(cursor, slot, method, chat.id)
        sent = await make()
        cursor.calls.noted[slot][2] = sent.message_id  # written with the next note
        return sent

    async def done(self, method: str, target: str, make: Callable[[], Awaitable[None]]) -> None:
        """A call with nothing to learn from its answer (edit, delete, ban, ...)."""
        cursor = self._cursor()
        if cursor is None:
            await make()
            return
        slot = cursor.next_slot()
        if self._earlier(cursor, slot, method, target) is not None:
            return
        await self._note(cursor, slot, method, target)
        await make()

    def _earlier(self, cursor: _Cursor, slot: str, method: str, target: str) -> Noted | None:
        noted = cursor.calls.noted.get(slot)
        if noted is None or noted[0] != method or noted[1] != target:
            return None
        log.info(
            "update %s: %s to %s was made by an earlier run; not repeated",
            cursor.calls.key,
            method,
            target,
        )
        return noted

    async def _note(self, cursor: _Cursor, slot: str, method: str, target: str) -> None:
        cursor.calls.noted[slot] = [method, target, None]
        # joins the update's unit of work (PostgreSQL), committed with it just below
        await self._inbox.note_calls(cursor.calls.key, cursor.calls.dump())
        await self._database.end_update_unit()
