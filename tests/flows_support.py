"""Drive a local bot on a virtual clock: hour by hour, the gate's waiting line is
drained (as its scheduler would) and the flow engine ticks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from harness import LocalBot, local_bot, make_config

from bot.adapters.local import Action
from bot.app import App
from bot.clock import ManualClock
from bot.events import OutgoingMessage
from flows.engine import FlowEngine
from push.gate import Gate


def tomorrow_10_shanghai() -> datetime:
    """A virtual start after every real event time, at 10:00 in the default push zone."""
    day = datetime.now(UTC) + timedelta(days=1)
    return day.replace(hour=2, minute=0, second=0, microsecond=0)


async def advance(
    app: App, clock: ManualClock, delta: timedelta, step: timedelta = timedelta(hours=1)
) -> None:
    """Move ``clock`` on by ``delta`` in steps; at each, do what the schedulers would:
    drain the gate's due waiting lines, then tick the flow engine."""
    engine = app.services.require(FlowEngine)
    end = clock.now() + delta
    while clock.now() < end:
        clock.advance(min(step, end - clock.now()))
        now = clock.now()
        gate = app.services.find(Gate)
        if gate is not None:
            for member_id, due in await gate.pending.next_due():
                if due <= now:
                    await gate.drain(member_id)
        await engine.tick(now)


@dataclass
class Sent:
    at: datetime
    chat: str
    message: OutgoingMessage

    @property
    def data(self) -> list[str]:
        return [b.data for row in self.message.buttons for b in row if b.data]


@dataclass
class Journey:
    bot: LocalBot
    clock: ManualClock
    sent: list[Sent] = field(default_factory=list)
    _presses: int = 0

    @property
    def engine(self) -> FlowEngine:
        return self.bot.app.services.require(FlowEngine)

    def listen(self, action: Action) -> None:
        if action.kind == "send" and action.message is not None:
            self.sent.append(Sent(self.clock.now(), action.chat.id, action.message))

    async def advance(self, delta: timedelta, step: timedelta = timedelta(hours=1)) -> None:
        await advance(self.bot.app, self.clock, delta, step)

    def button(self, sent: Sent, choice: str) -> str:
        """The pressable data of a button, as the member's client would send it back."""
        return next(d for d in sent.data if f":{choice}:" in d)

    async def press(self, name: str, data: str) -> list[OutgoingMessage]:
        """Press with an update key unique across restarts (the local adapter's
        counter starts again at 1, and the update ledger lives in the database)."""
        user = self.bot.user(name)
        before = len(self.bot.adapter.log)
        self._presses += 1
        key = f"press:{self.clock.now().timestamp()}:{self._presses}"
        await self.bot.deliver(
            self.bot.adapter.press(user, self.bot.adapter.dm(user), data, update_key=key)
        )
        return [a.message for a in self.bot.adapter.log[before:] if a.message]

    def to(self, chat: str) -> list[Sent]:
        return [s for s in self.sent if s.chat == chat]

    def with_button(self, chat: str, prefix: str) -> list[Sent]:
        return [s for s in self.to(chat) if any(d.startswith(prefix) for d in s.data)]


def journey_config(url: str, moderation: dict[str, Any] | None = None, **flows: Any) -> Any:
    base: dict[str, Any] = {"tick": 0}
    base.update(flows)
    return make_config(
        url, flows=base, push={"scheduler": {"enabled": False}}, moderation=moderation or {}
    )


@asynccontextmanager
async def journey(
    url: str,
    start: datetime | None = None,
    moderation: dict[str, Any] | None = None,
    **flows: Any,
) -> AsyncIterator[Journey]:
    clock = ManualClock(start or tomorrow_10_shanghai())
    async with local_bot(journey_config(url, moderation, **flows), clock=clock) as bot:
        state = Journey(bot, clock)
        bot.adapter.listeners.append(state.listen)
        yield state
