"""Platform-neutral events and outgoing messages.

Adapters translate platform updates into these types and back, so handlers,
flows, storage and knowledge never see a Telegram (or any other) object.
Members and chats are identified by ``(platform, id)``: :class:`UserRef` and
:class:`ChatRef`, defined in :mod:`storage.refs` (shared storage builds them
too, and must not import the core) and re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storage.refs import ChatKind as ChatKind
from storage.refs import ChatRef as ChatRef
from storage.refs import UserRef as UserRef


@dataclass(frozen=True, slots=True)
class Command:
    """``/name args`` parsed once by the adapter; ``args`` is the raw tail."""

    name: str
    args: str = ""

    @property
    def argv(self) -> list[str]:
        return self.args.split()


@dataclass(frozen=True, slots=True)
class Entity:
    """A span of the text the platform marked up (url, mention, …)."""

    type: str
    offset: int
    length: int
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ReplyRef:
    message_id: str
    user: UserRef | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of everything an adapter delivers.

    ``update_key`` is unique per platform update; the dedupe middleware keys
    on it so an update delivered twice is handled once.
    """

    update_key: str | None
    chat: ChatRef
    user: UserRef
    at: datetime

    @property
    def platform(self) -> str:
        return self.chat.platform


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingMessage(Event):
    message_id: str
    text: str = ""
    command: Command | None = None
    reply_to: ReplyRef | None = None
    entities: tuple[Entity, ...] = ()
    mentions_bot: bool = False
    forwarded_from_channel: bool = False
    has_media: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberJoined(Event):
    """``user`` joined ``chat``; ``inviter`` is set when someone added them."""

    inviter: UserRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberLeft(Event):
    kicked_by: UserRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinRequest(Event):
    """A request to join ``chat`` that an admin (or the bot) must approve."""

    bio: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ButtonPressed(Event):
    callback_id: str
    data: str
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: either callback ``data`` or an ``url``."""

    text: str
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    chat: ChatRef
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    reply_to: str | None = None
    silent: bool = False
    disable_preview: bool = True


@dataclass(frozen=True, slots=True)
class OutgoingDocument:
    chat: ChatRef
    filename: str
    content: bytes
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    chat: ChatRef
    message_id: str
    extra: dict[str, object] = field(default_factory=dict)
