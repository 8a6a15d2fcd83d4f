"""An adapter that forwards every call to another one: the base of the wrappers
that change a few calls (signing buttons, noting calls before they go out)."""

from __future__ import annotations

from datetime import datetime

from bot.adapter import Adapter, Closable, UpdateSink
from bot.events import ChatRef, Event, OutgoingDocument, OutgoingMessage, SentMessage, UserRef


class ForwardingAdapter:
    def __init__(self, inner: Adapter) -> None:
        self.inner = inner
        self.platform = inner.platform

    async def start(self, sink: UpdateSink) -> None:
        await self.inner.start(sink)

    async def stop(self) -> None:
        await self.inner.stop()

    async def close(self) -> None:
        if isinstance(self.inner, Closable):
            await self.inner.close()

    def parse(self, raw: dict[str, object]) -> Event | None:
        return self.inner.parse(raw)

    async def send(self, message: OutgoingMessage) -> SentMessage:
        return await self.inner.send(message)

    async def send_document(self, document: OutgoingDocument) -> SentMessage:
        return await self.inner.send_document(document)

    async def edit(self, chat: ChatRef, message_id: str, message: OutgoingMessage) -> None:
        await self.inner.edit(chat, message_id, message)

    async def answer_button(self, callback_id: str, text: str | None = None) -> None:
        await self.inner.answer_button(callback_id, text)

    async def delete(self, chat: ChatRef, message_id: str) -> None:
        await self.inner.delete(chat, message_id)

    async def restrict(self, chat: ChatRef, user: UserRef, until: datetime | None) -> None:
        await self.inner.restrict(chat, user, until)

    async def unrestrict(self, chat: ChatRef, user: UserRef) -> None:
        await self.inner.unrestrict(chat, user)

    async def ban(self, chat: ChatRef, user: UserRef, until: datetime | None = None) -> None:
        await self.inner.ban(chat, user, until)

    async def unban(self, chat: ChatRef, user: UserRef) -> None:
        await self.inner.unban(chat, user)

    async def approve_join(self, chat: ChatRef, user: UserRef) -> None:
        await self.inner.approve_join(chat, user)

    async def decline_join(self, chat: ChatRef, user: UserRef) -> None:
        await self.inner.decline_join(chat, user)

    async def list_admins(self, chat: ChatRef) -> list[UserRef]:
        return await self.inner.list_admins(chat)

    async def me(self) -> UserRef:
        return await self.inner.me()
