"""The thin contract every chat platform implements.

An adapter turns platform updates into :mod:`bot.events` and neutral actions
into platform calls. It never calls handlers directly: it hands events to the
``UpdateSink`` it was started with, which is the core's dispatcher.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.events import (
    ChatRef,
    Event,
    OutgoingDocument,
    OutgoingMessage,
    SentMessage,
    UserRef,
)

if TYPE_CHECKING:
    from bot.intake import DurableIntake

UpdateSink = Callable[[Event], Awaitable[None]]


@runtime_checkable
class Adapter(Protocol):
    """What the core needs from a platform; nothing more."""

    platform: str

    async def start(self, sink: UpdateSink) -> None:
        """Begin receiving updates (polling or webhook) and feed them to ``sink``."""

    async def stop(self) -> None:
        """Stop receiving and wait for in-flight updates to finish."""

    def parse(self, raw: dict[str, Any]) -> Event | None:
        """Turn one raw platform update into an event (None: not interesting)."""

    async def send(self, message: OutgoingMessage) -> SentMessage: ...

    async def send_document(self, document: OutgoingDocument) -> SentMessage: ...

    async def edit(self, chat: ChatRef, message_id: str, message: OutgoingMessage) -> None: ...

    async def answer_button(self, callback_id: str, text: str | None = None) -> None: ...

    async def delete(self, chat: ChatRef, message_id: str) -> None: ...

    async def restrict(self, chat: ChatRef, user: UserRef, until: datetime | None) -> None:
        """Mute ``user`` in ``chat`` until ``until`` (None: until lifted)."""

    async def unrestrict(self, chat: ChatRef, user: UserRef) -> None: ...

    async def ban(self, chat: ChatRef, user: UserRef, until: datetime | None = None) -> None: ...

    async def unban(self, chat: ChatRef, user: UserRef) -> None: ...

    async def approve_join(self, chat: ChatRef, user: UserRef) -> None: ...

    async def decline_join(self, chat: ChatRef, user: UserRef) -> None: ...

    async def list_admins(self, chat: ChatRef) -> list[UserRef]: ...

    async def me(self) -> UserRef:
        """The bot's own identity (username is used for deep links)."""


@runtime_checkable
class Closable(Protocol):
    """An adapter holding connections: the App closes it after draining in-flight
    updates, since their replies still need the connection after ``stop``."""

    async def close(self) -> None: ...


@runtime_checkable
class DurableSource(Protocol):
    """An adapter whose platform redelivers what it was not told it got (webhook
    retries, polling offsets): it acknowledges an update only once ``intake`` has
    stored it, and parses stored raw updates again for whichever worker runs them."""

    def use_intake(self, intake: DurableIntake) -> None: ...

    def events_of(self, raw: dict[str, Any]) -> tuple[Event, ...]: ...

    def key_of(self, raw: dict[str, Any]) -> str: ...


@runtime_checkable
class CallHooked(Protocol):
    """An adapter that awaits ``before_call`` before each platform call: the core
    commits the update's database work there, so nothing is sent for writes that
    might still roll back."""

    before_call: Callable[[], Awaitable[None]] | None
