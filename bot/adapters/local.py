"""An in-process platform: no token, no network.

``warmline chat`` and the tests speak through it as any member, in a DM or in
a demo group; everything the bot does is recorded in :attr:`LocalAdapter.log`
and announced to listeners (the terminal prints it).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.adapter import Capabilities, Limits, UpdateSink
from bot.commands import parse_command
from bot.config.model import WarmlineConfig
from bot.events import (
    ButtonPressed,
    ChatKind,
    ChatRef,
    Entity,
    Event,
    IncomingMessage,
    JoinRequest,
    MemberJoined,
    MemberLeft,
    OutgoingDocument,
    OutgoingMessage,
    ReplyRef,
    SentMessage,
    UserRef,
)
from bot.web import WebServer

PLATFORM = "local"


@dataclass(frozen=True, slots=True)
class Action:
    """One thing the bot did: ``send``, ``edit``, ``ban``, ``restrict``, …"""

    kind: str
    chat: ChatRef
    message: OutgoingMessage | None = None
    document: OutgoingDocument | None = None
    user: UserRef | None = None
    message_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[Action], None]


#: the terminal and the tests stand in for a platform that can do everything
CAPABILITIES = Capabilities(
    edit=True,
    delete=True,
    buttons=True,
    documents=True,
    moderate=True,
    approve_joins=True,
    dm_first=True,
)
#: the demo speaks Telegram's link syntax (and, like Telegram, marks such links)
LINK_HOSTS = ("t.me", "telegram.me", "telegram.dog")
_HOST_LINK = re.compile(r"\b(?:t\.me|telegram\.(?:me|dog))/\S*", re.IGNORECASE)
LIMITS = Limits(button_data_bytes=64, max_restriction=timedelta(days=366), link_hosts=LINK_HOSTS)


class LocalAdapter:
    platform = PLATFORM
    capabilities = CAPABILITIES
    limits = LIMITS

    def __init__(
        self,
        bot_username: str = "warmline_bot",
        admins: list[str] | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.bot_username = bot_username
        #: another platform's limits, for ``warmline simulate --platform``
        self.limits = limits or LIMITS
        self.log: list[Action] = []
        self.listeners: list[Listener] = []
        self._admins = list(admins or [])
        self._sink: UpdateSink | None = None
        self._ids = itertools.count(1)
        self._updates = itertools.count(1)
        # update keys must not repeat across restarts on the same database,
        # or the dedupe ledger would drop the first updates of a new session
        self._session = uuid.uuid4().hex[:8]

    # -- the Adapter contract ------------------------------------------------
    async def start(self, sink: UpdateSink) -> None:
        self._sink = sink

    async def stop(self) -> None:
        self._sink = None

    def parse(self, raw: dict[str, Any]) -> Event | None:
        """Local updates are JSON like ``{"user": {...}, "chat": {...}, "text": "hi"}``."""
        user = UserRef(PLATFORM, str(raw["user"]["id"]), raw["user"].get("name", ""))
        chat_raw = raw.get("chat") or {"id": user.id, "kind": "private"}
        chat = ChatRef(PLATFORM, str(chat_raw["id"]), ChatKind(chat_raw.get("kind", "private")))
        key = str(raw.get("update_id", next(self._updates)))
        if "text" in raw:
            return self.message(user, chat, raw["text"], update_key=key)
        if "data" in raw:
            return self.press(user, chat, raw["data"], update_key=key)
        return None

    async def send(self, message: OutgoingMessage) -> SentMessage:
        message_id = str(next(self._ids))
        self._emit(Action("send", message.chat, message=message, message_id=message_id))
        return SentMessage(message.chat, message_id)

    async def send_document(self, document: OutgoingDocument) -> SentMessage:
        message_id = str(next(self._ids))
        self._emit(Action("document", document.chat, document=document, message_id=message_id))
        return SentMessage(document.chat, message_id)

    async def edit(self, chat: ChatRef, message_id: str, message: OutgoingMessage) -> None:
        self._emit(Action("edit", chat, message=message, message_id=message_id))

    async def answer_button(self, callback_id: str, text: str | None = None) -> None:
        if text:
            self._emit(Action("toast", ChatRef(PLATFORM, "-"), detail={"text": text}))

    async def delete(self, chat: ChatRef, message_id: str) -> None:
        self._emit(Action("delete", chat, message_id=message_id))

    async def restrict(self, chat: ChatRef, user: UserRef, until: datetime | None) -> None:
        self._emit(Action("restrict", chat, user=user, detail={"until": until}))

    async def unrestrict(self, chat: ChatRef, user: UserRef) -> None:
        self._emit(Action("unrestrict", chat, user=user))

    async def ban(self, chat: ChatRef, user: UserRef, until: datetime | None = None) -> None:
        self._emit(Action("ban", chat, user=user, detail={"until": until}))

    async def unban(self, chat: ChatRef, user: UserRef) -> None:
        self._emit(Action("unban", chat, user=user))

    async def approve_join(self, chat: ChatRef, user: UserRef) -> None:
        self._emit(Action("approve_join", chat, user=user))

    async def decline_join(self, chat: ChatRef, user: UserRef) -> None:
        self._emit(Action("decline_join", chat, user=user))

    async def list_admins(self, chat: ChatRef) -> list[UserRef]:
        return [UserRef(PLATFORM, admin) for admin in self._admins]

    async def me(self) -> UserRef:
        return UserRef(PLATFORM, "0", "Warmline", username=self.bot_username, is_bot=True)

    def dm(self, user: UserRef) -> ChatRef:
        """A local DM's id is the member's id (as ``warmline chat`` shows it)."""
        return ChatRef(PLATFORM, user.id, ChatKind.PRIVATE)

    async def deep_link(self, payload: str) -> str | None:
        """Telegram-style, so what a member would share reads the same in a demo."""
        return f"https://t.me/{self.bot_username}?start={payload}"

    # -- speaking as members -------------------------------------------------
    async def deliver(self, event: Event) -> None:
        if self._sink is None:
            raise RuntimeError("the local adapter is not started")
        await self._sink(event)

    def message(
        self,
        user: UserRef,
        chat: ChatRef,
        text: str,
        *,
        reply_to: ReplyRef | None = None,
        update_key: str | None = None,
    ) -> IncomingMessage:
        mentions = f"@{self.bot_username}".lower() in text.lower()
        links = tuple(
            Entity("url", m.start(), m.end() - m.start()) for m in _HOST_LINK.finditer(text)
        )
        return IncomingMessage(
            update_key=update_key or f"local:{self._session}:{next(self._updates)}",
            chat=chat,
            user=user,
            at=datetime.now(UTC),
            message_id=str(next(self._ids)),
            text=text,
            command=parse_command(text, self.bot_username),
            reply_to=reply_to,
            mentions_bot=mentions,
            entities=links,
        )

    def press(
        self, user: UserRef, chat: ChatRef, data: str, *, update_key: str | None = None
    ) -> ButtonPressed:
        return ButtonPressed(
            update_key=update_key or f"local:{self._session}:{next(self._updates)}",
            chat=chat,
            user=user,
            at=datetime.now(UTC),
            callback_id=str(next(self._ids)),
            data=data,
        )

    def joined(self, user: UserRef, chat: ChatRef) -> MemberJoined:
        return MemberJoined(
            update_key=f"local:{self._session}:{next(self._updates)}",
            chat=chat,
            user=user,
            at=datetime.now(UTC),
        )

    def left(self, user: UserRef, chat: ChatRef) -> MemberLeft:
        return MemberLeft(
            update_key=f"local:{self._session}:{next(self._updates)}",
            chat=chat,
            user=user,
            at=datetime.now(UTC),
        )

    def join_request(self, user: UserRef, chat: ChatRef) -> JoinRequest:
        return JoinRequest(
            update_key=f"local:{self._session}:{next(self._updates)}",
            chat=chat,
            user=user,
            at=datetime.now(UTC),
        )

    def sent_to(self, chat_id: str) -> list[OutgoingMessage]:
        """Messages the bot sent to one chat, oldest first (handy in tests)."""
        return [
            a.message for a in self.log if a.kind == "send" and a.chat.id == chat_id and a.message
        ]

    def _emit(self, action: Action) -> None:
        self.log.append(action)
        for listener in self.listeners:
            listener(action)


def build(config: WarmlineConfig, web: WebServer | None = None) -> LocalAdapter:
    """``bot.platform: local`` (registered in :mod:`bot.platforms`)."""
    del web  # nothing to serve
    from bot.adapters.local_platform import local_config

    return LocalAdapter(local_config(config).bot_username, admins=config.bot.admins)
