"""Build a real App on the local adapter and talk to it like a member."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.adapters.local import PLATFORM, LocalAdapter
from bot.adapters.local_platform import local_config
from bot.app import App
from bot.config.model import WarmlineConfig
from bot.events import ChatKind, ChatRef, Event, OutgoingMessage, UserRef


def make_config(database_url: str, **sections: Any) -> WarmlineConfig:
    data: dict[str, Any] = {
        "bot": {"platform": "local", "admins": ["admin"]},
        "storage": {"database_url": database_url},
    }
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    return WarmlineConfig.model_validate(data)


class LocalBot:
    """A started App plus helpers to speak as members."""

    def __init__(self, app: App, adapter: LocalAdapter) -> None:
        self.app = app
        self.adapter = adapter
        self.group = ChatRef(PLATFORM, "-100", ChatKind.GROUP, "Test Group")

    @staticmethod
    def user(name: str, lang: str = "en") -> UserRef:
        return UserRef(PLATFORM, name.lower(), name, language_code=lang)

    async def deliver(self, event: Event) -> None:
        await self.adapter.deliver(event)
        await self.app.runner.wait_idle()

    async def say(
        self, user: UserRef, text: str, chat: ChatRef | None = None
    ) -> list[OutgoingMessage]:
        """Send ``text`` and return what the bot sent in reply (to any chat)."""
        before = len(self.adapter.log)
        await self.deliver(self.adapter.message(user, chat or self.adapter.dm(user), text))
        return [a.message for a in self.adapter.log[before:] if a.kind == "send" and a.message]

    async def press(
        self, user: UserRef, data: str, chat: ChatRef | None = None
    ) -> list[OutgoingMessage]:
        before = len(self.adapter.log)
        await self.deliver(self.adapter.press(user, chat or self.adapter.dm(user), data))
        return [a.message for a in self.adapter.log[before:] if a.message]


@asynccontextmanager
async def local_bot(config: WarmlineConfig, **app_kwargs: Any) -> AsyncIterator[LocalBot]:
    adapter = LocalAdapter(local_config(config).bot_username, admins=config.bot.admins)
    app = App(config, adapter=adapter, **app_kwargs)
    if app.database.dialect != "sqlite":
        await app.database.migrate()
    await app.start()
    try:
        yield LocalBot(app, adapter)
    finally:
        await app.stop()
