"""Run a whole App on Telegram against the fake Bot API, and talk to it.

The App is built the way ``warmline run`` builds it (every feature installed,
the default routers), with ``bot.telegram.library`` choosing aiogram or
python-telegram-bot, so the same scenario runs on both libraries.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fake_bot_api import TOKEN, Call, FakeBotAPI, Json

from bot.adapters.retry import RetryPolicy
from bot.adapters.telegram_base import TelegramAdapter
from bot.app import App
from bot.clock import Clock
from bot.config.model import WarmlineConfig


@pytest.fixture(params=["aiogram", "ptb"])
def library(request: pytest.FixtureRequest) -> str:
    """Each scenario runs once per Telegram library."""
    return str(request.param)


def telegram_settings(
    api: FakeBotAPI, library: str, db_url: str, admins: list[str], **sections: Any
) -> dict[str, Any]:
    """A config document (as a YAML file would hold it) pointed at the fake API."""
    data: dict[str, Any] = {
        "bot": {
            "platform": "telegram",
            "admins": admins,
            "telegram": {
                "token": TOKEN,
                "library": library,
                "api_base": api.url,
                "poll_timeout": "20s",
                "webhook": {"listen": "127.0.0.1:0"},  # features may serve HTTP too
            },
        },
        "storage": {"database_url": db_url},
    }
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    return data


def keyboard(call: Call) -> list[str]:
    """The callback data of a sent message's inline buttons (signed, as sent)."""
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [button["callback_data"] for row in markup["inline_keyboard"] for button in row]


class TelegramBot:
    """A started App on the fake API, plus a way to speak to it and wait for the answer."""

    def __init__(self, app: App, api: FakeBotAPI) -> None:
        self.app = app
        self.api = api

    async def send(self, *updates: Json) -> list[Call]:
        """Push updates, wait until they are handled; the messages sent meanwhile."""
        before = len(self.api.calls)
        self.api.push(*updates)
        await self.api.taken()
        await self.app.runner.wait_idle()
        return sent_messages(self.api.calls[before:])


def sent_messages(calls: list[Call]) -> list[Call]:
    """The messages among ``calls`` that the API accepted."""
    return [c for c in calls if c.method == "sendMessage" and c.status == 200]


def to_chat(calls: list[Call], user: Json) -> list[Call]:
    return [c for c in calls if c.params.get("chat_id") == user["id"]]


def texts(calls: list[Call]) -> list[str]:
    return [str(c.params["text"]) for c in calls]


@asynccontextmanager
async def telegram_bot(
    api: FakeBotAPI, config: WarmlineConfig, clock: Clock | None = None
) -> AsyncIterator[TelegramBot]:
    """``App(config)`` as ``warmline run`` makes it; ``clock`` for virtual time."""
    app = App(config, clock=clock)
    assert isinstance(app.adapter, TelegramAdapter)
    app.adapter.retry = RetryPolicy(max_retries=2, base_delay=0.1)  # quick backoff
    if app.database.dialect != "sqlite":
        await app.database.migrate()
    await app.start()
    try:
        yield TelegramBot(app, api)
    finally:
        await app.stop()
