"""The small contract every chat platform implements, and what it may add.

An adapter turns platform updates into :mod:`bot.events` and neutral actions
into platform calls. It never calls handlers directly: it hands events to the
``UpdateSink`` it was started with, which is the core's dispatcher.

Every adapter does :class:`Adapter`: start, stop, send, me, and says how the
platform addresses a member (``dm``, ``deep_link``), what it can do
(:class:`Capabilities`) and within which limits (:class:`Limits`). Whatever
else a platform can do is an optional protocol (:class:`Editor`,
:class:`Moderator`, :class:`JoinGate`, …) that the core uses only when the
matching capability is set: ask with :func:`able`, never by trying.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, runtime_checkable

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
    from storage.database import Database

UpdateSink = Callable[[Event], Awaitable[None]]

#: what the core's signature adds to a button's data (see bot.callbacks)
SIGNATURE_BYTES = 20
#: the button data every platform with buttons carries once signed (flows, Q&A, …):
#: an adapter with buttons offers at least DATA_BUDGET + SIGNATURE_BYTES bytes
DATA_BUDGET = 44


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the platform lets a bot do beyond sending text."""

    #: change a message already sent (:class:`Editor`)
    edit: bool = False
    #: delete a message (:class:`Deleter`)
    delete: bool = False
    #: inline buttons with callback data, answered with :class:`ButtonAnswerer`
    buttons: bool = False
    #: send files (:class:`DocumentSender`)
    documents: bool = False
    #: mute, ban and list a group's admins (:class:`Moderator`)
    moderate: bool = False
    #: approve or decline requests to join a group (:class:`JoinGate`)
    approve_joins: bool = False
    #: write to a member who has not written to the bot first
    dm_first: bool = False


@dataclass(frozen=True, slots=True)
class Pacing:
    """The platform's send limits, the defaults of ``push.pacing``."""

    per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_group_per_minute: int = 20


@dataclass(frozen=True, slots=True)
class MessageWindow:
    """The bot may write only within ``after_member_message`` of the member's last
    message, at most ``max_messages`` times (None: no count)."""

    after_member_message: timedelta
    max_messages: int | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    #: bytes of callback data one button carries (0: no buttons)
    button_data_bytes: int = 0
    #: the longest timed mute/ban; longer ones are forever (None: no limit)
    max_restriction: timedelta | None = None
    pacing: Pacing = field(default_factory=Pacing)
    #: when the bot may write to a member (None: whenever)
    window: MessageWindow | None = None
    #: the platform's own short-link hosts, links the moderation lock also catches
    link_hosts: tuple[str, ...] = ()


@runtime_checkable
class Adapter(Protocol):
    """What the core needs from every platform; nothing more."""

    platform: str

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def limits(self) -> Limits: ...

    async def start(self, sink: UpdateSink) -> None:
        """Begin receiving updates (polling or webhook) and feed them to ``sink``."""

    async def stop(self) -> None:
        """Stop receiving and wait for in-flight updates to finish."""

    async def send(self, message: OutgoingMessage) -> SentMessage:
        """Send ``message``; raises :mod:`bot.errors` (``RateLimited`` is reported,
        never slept out here: the core owns rate limits)."""

    async def me(self) -> UserRef:
        """The bot's own identity."""

    def dm(self, user: UserRef) -> ChatRef:
        """The one-to-one conversation with ``user`` (its id is the platform's)."""

    async def deep_link(self, payload: str) -> str | None:
        """A link that opens the bot with ``payload`` as the member's source or
        referral (None: the platform has no such links)."""


@runtime_checkable
class Editor(Protocol):
    async def edit(self, chat: ChatRef, message_id: str, message: OutgoingMessage) -> None: ...


@runtime_checkable
class Deleter(Protocol):
    async def delete(self, chat: ChatRef, message_id: str) -> None: ...


@runtime_checkable
class ButtonAnswerer(Protocol):
    async def answer_button(self, callback_id: str, text: str | None = None) -> None: ...


@runtime_checkable
class DocumentSender(Protocol):
    async def send_document(self, document: OutgoingDocument) -> SentMessage: ...


@runtime_checkable
class Moderator(Protocol):
    async def restrict(self, chat: ChatRef, user: UserRef, until: datetime | None) -> None:
        """Mute ``user`` in ``chat`` until ``until`` (None: until lifted)."""

    async def unrestrict(self, chat: ChatRef, user: UserRef) -> None: ...

    async def ban(self, chat: ChatRef, user: UserRef, until: datetime | None = None) -> None: ...

    async def unban(self, chat: ChatRef, user: UserRef) -> None: ...

    async def list_admins(self, chat: ChatRef) -> list[UserRef]: ...


@runtime_checkable
class JoinGate(Protocol):
    async def approve_join(self, chat: ChatRef, user: UserRef) -> None: ...

    async def decline_join(self, chat: ChatRef, user: UserRef) -> None: ...


@dataclass(frozen=True, slots=True)
class MassLimit:
    """The platform's own cap: at most ``count`` mass messages per member per ``period``."""

    count: int
    period: timedelta


@runtime_checkable
class MassSender(Protocol):
    """A platform whose broadcasts are mass-send tasks that a person confirms (WeCom):
    a broadcast goes as one call for its whole audience, and what each member got is
    read back later. ``batch`` names the broadcast; sending it again is a no-op."""

    mass_limit: MassLimit

    async def mass_send(self, batch: str, chats: list[ChatRef], text: str) -> list[ChatRef]:
        """Create the tasks; returns the chats no task could include."""

    async def mass_outcomes(self, batch: str) -> dict[str, str]:
        """chat id → ``waiting`` | ``sent`` | ``platform_cap`` | ``unreachable``."""


@runtime_checkable
class BatchedPushes(Protocol):
    """A :class:`MassSender` that also takes, once a day at ``push_batch_at`` (each
    member's local time; None: it does not), the proactive messages its message
    window refuses: they go as that day's mass-send tasks instead of waiting for the
    member to write (WeCom with ``bot.wecom.batch_pushes``)."""

    @property
    def push_batch_at(self) -> time | None: ...


def batches_pushes(adapter: Adapter) -> tuple[MassSender, time] | None:
    """The mass sender of window-refused pushes and its daily time, when the adapter
    batches them."""
    if isinstance(adapter, MassSender) and isinstance(adapter, BatchedPushes):
        at = adapter.push_batch_at
        if at is not None:
            return adapter, at
    return None


@runtime_checkable
class WindowedChats(Protocol):
    """A platform whose message window (``limits.window``) is narrower than "every
    private chat, opened by every member message" (WeCom: customers' kf
    conversations only, opened by kf messages; not staff in the app, not the one
    welcome message an add allows)."""

    def windowed(self, chat: ChatRef) -> bool:
        """Whether the next send to ``chat`` needs the window."""

    def opens_window(self, event: Event) -> bool:
        """Whether ``event`` (a member's own message) opens their window."""


def in_window_rule(adapter: Adapter, chat: ChatRef) -> bool:
    """Whether ``limits.window`` governs what may be sent to ``chat`` now."""
    if adapter.limits.window is None or not chat.is_private:
        return False
    return not _conforms(adapter, WindowedChats) or cast(WindowedChats, adapter).windowed(chat)


def opens_window(adapter: Adapter, event: Event) -> bool:
    if adapter.limits.window is None or not event.chat.is_private or event.user.is_bot:
        return False
    return not _conforms(adapter, WindowedChats) or cast(WindowedChats, adapter).opens_window(event)


@runtime_checkable
class TagMirror(Protocol):
    """A platform with member tags of its own (WeCom's corp tags) that keeps them
    in step with Warmline's (``bot.tag_mirror``)."""

    async def mirror_tags(self, user: UserRef, added: list[str], removed: list[str]) -> None: ...


@runtime_checkable
class ChatButtons(Protocol):
    """A platform whose buttons work in some conversations only (WeCom: in a
    customer's kf conversation, not in the staff app)."""

    def buttons_in(self, chat: ChatRef) -> bool: ...


def shows_buttons(adapter: Adapter, chat: ChatRef) -> bool:
    """Whether a button sent to ``chat`` can be pressed there."""
    if not adapter.capabilities.buttons:
        return False
    return not _conforms(adapter, ChatButtons) or cast(ChatButtons, adapter).buttons_in(chat)


#: (adapter class, protocol) → whether it conforms: asked on every send, and a runtime
#: protocol check costs more than the send it guards
_CONFORMS: dict[tuple[type[Any], type[Any]], bool] = {}


def _conforms(adapter: Adapter, protocol: type[Any]) -> bool:
    """``isinstance(adapter, protocol)``, asked once per adapter class."""
    key = (type(adapter), protocol)
    found = _CONFORMS.get(key)
    if found is None:
        found = _CONFORMS[key] = isinstance(adapter, protocol)
    return found


@runtime_checkable
class SecretSeed(Protocol):
    """An adapter with a secret of its own (a bot token) that button signatures
    may be derived from when ``bot.callback_secret`` is unset."""

    def secret_seed(self) -> bytes | None: ...


#: each optional protocol and the capability that switches it on
REQUIRES: dict[type[Any], str] = {
    Editor: "edit",
    Deleter: "delete",
    ButtonAnswerer: "buttons",
    DocumentSender: "documents",
    Moderator: "moderate",
    JoinGate: "approve_joins",
}

P = TypeVar("P")


def able(adapter: Adapter, protocol: type[P]) -> P | None:
    """``adapter`` as ``protocol`` when its capabilities say it does that, else None."""
    flag = REQUIRES[protocol]
    if getattr(adapter.capabilities, flag) and isinstance(adapter, protocol):
        return cast(P, adapter)
    return None


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
class StateKeeper(Protocol):
    """An adapter that keeps state every worker must share (a platform's cursor,
    its message windows) in the bot's database; the App hands it over before start."""

    def use_database(self, database: Database) -> None: ...


@runtime_checkable
class CallHooked(Protocol):
    """An adapter that awaits ``before_call`` before each platform call: the core
    commits the update's database work there, so nothing is sent for writes that
    might still roll back."""

    before_call: Callable[[], Awaitable[None]] | None


@runtime_checkable
class RetryReported(Protocol):
    """An adapter that retries transient failures (5xx, network) itself and calls
    ``on_retry`` with the cause each time, so observers can count them."""

    on_retry: Callable[[str], None] | None
