"""The per-update context a handler receives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.events import (
    Button,
    ButtonPressed,
    ChatRef,
    Event,
    IncomingMessage,
    OutgoingMessage,
    SentMessage,
)
from bot.i18n import normalise_language
from bot.services import Services
from storage.records import MemberRecord

Keyboard = Sequence[Sequence[Button]]


@dataclass(slots=True)
class Context:
    event: Event
    services: Services
    member: MemberRecord | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def chat(self) -> ChatRef:
        return self.event.chat

    @property
    def message(self) -> IncomingMessage | None:
        return self.event if isinstance(self.event, IncomingMessage) else None

    @property
    def lang(self) -> str:
        """Member's chosen language, else the platform's, else the bot default."""
        default = self.services.config.bot.default_language
        if self.member is not None and self.member.language:
            return normalise_language(self.member.language, default)
        return normalise_language(self.event.user.language_code, default)

    @property
    def is_bot_admin(self) -> bool:
        return self.services.is_bot_admin(self.event.platform, self.event.user.id)

    def t(self, key: str, **values: Any) -> str:
        return self.services.catalog.t(self.lang, key, **values)

    async def reply(
        self, text: str, buttons: Keyboard = (), *, quote: bool = False, silent: bool = False
    ) -> SentMessage:
        """Answer in the chat the event came from (a reply: no push gate)."""
        reply_to = None
        if quote and isinstance(self.event, IncomingMessage):
            reply_to = self.event.message_id
        return await self.services.adapter.send(
            OutgoingMessage(
                chat=self.chat,
                text=text,
                buttons=tuple(tuple(row) for row in buttons),
                reply_to=reply_to,
                silent=silent,
            )
        )

    async def reply_private(self, text: str, buttons: Keyboard = ()) -> SentMessage:
        """Answer the member in their DM, wherever the event came from."""
        return await self.services.adapter.send(
            OutgoingMessage(
                chat=self.services.adapter.dm(self.event.user),
                text=text,
                buttons=tuple(tuple(row) for row in buttons),
            )
        )

    async def answer_button(self, text: str | None = None) -> None:
        if isinstance(self.event, ButtonPressed):
            await self.services.adapter.answer_button(self.event.callback_id, text)
