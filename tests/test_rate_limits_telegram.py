"""One owner of 429s, through both Telegram libraries and the fake Bot API.

The adapters report a 429 (``RateLimited``) instead of sleeping it out; the
core then holds *every* send of the bot for ``retry_after`` (a member's reply
waits behind a rate-limited push, as python-telegram-bot's AIORateLimiter
would have it), the push sender tries a message at most
``push.pacing.max_retries`` more times, and each retry reaches observers
through the core's ``platform_retry`` signal (what the metrics count).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import fake_bot_api
import pytest
import telegram_support
from fake_bot_api import FakeBotAPI
from telegram_support import telegram_settings

from bot.adapters.retry import RetryPolicy
from bot.adapters.telegram_base import TelegramAdapter
from bot.app import App
from bot.config.model import WarmlineConfig
from push.contract import Category, Outcome, PushMessage
from push.gate import Gate
from push.rules import Reason

fake_api = fake_bot_api.fake_api
library = telegram_support.library
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

UPDATES = FakeBotAPI().updates
ADMIN = UPDATES.user(1, "Boss")
ADA, BEN = UPDATES.user(40, "Ada"), UPDATES.user(41, "Ben")


@asynccontextmanager
async def telegram_bot(
    api: FakeBotAPI, library: str, db_url: str, max_retries: int = 5
) -> AsyncIterator[tuple[App, list[str]]]:
    push: dict[str, Any] = {
        "quiet_hours": None,
        "min_gap": 0,
        "caps": {"per_day": None, "per_week": None},
        "pacing": {"per_second": 200, "per_chat_per_second": 100, "max_retries": max_retries},
    }
    settings = telegram_settings(api, library, db_url, [str(ADMIN["id"])], push=push)
    app = App(WarmlineConfig.model_validate(settings))
    assert isinstance(app.adapter, TelegramAdapter)
    app.adapter.retry = RetryPolicy(max_retries=2, base_delay=0.1)
    retries: list[str] = []
    app.services.signals.platform_retry.connect(retries.append)
    await app.start()
    try:
        api.push(UPDATES.command(ADA, "start"), UPDATES.command(BEN, "start"))
        await api.wait_for("sendMessage", 2)
        await app.runner.wait_idle()
        yield app, retries
    finally:
        await app.stop()


async def _push_to_ada(app: App, text: str) -> Any:
    member = await app.services.members.get("telegram", str(ADA["id"]))
    assert member is not None
    gate = app.services.require(Gate)
    return await gate.submit(member, PushMessage(text, f"test:{text}"), Category.BROADCAST)


async def test_a_push_429_holds_every_send_replies_included(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    async with telegram_bot(fake_api, library, sqlite_url) as (app, retries):
        fake_api.fail("sendMessage", 429, retry_after=2, chats=[ADA["id"]])
        push = asyncio.create_task(_push_to_ada(app, "Spring oolong"))
        for _ in range(500):
            calls = fake_api.calls_to("sendMessage", ok_only=False)
            limited = [c for c in calls if c.status == 429]
            if limited:
                break
            await asyncio.sleep(0.01)
        [limited_call] = limited
        fake_api.push(UPDATES.command(BEN, "help"))  # a reply, asked during the hold
        decision = await asyncio.wait_for(push, 10)
        await app.runner.wait_idle()
        assert decision.outcome is Outcome.SENT
        [delivered] = [
            c for c in fake_api.calls_to("sendMessage") if c.params["text"] == "Spring oolong"
        ]
        reply = [c for c in fake_api.calls_to("sendMessage") if c.params["chat_id"] == BEN["id"]][
            -1
        ]
        assert delivered.at - limited_call.at >= 1.9  # the push waited retry_after
        assert reply.at - limited_call.at >= 1.9  # and so did the member's reply
        assert retries == ["rate_limited"]


async def test_push_max_retries_applies_to_429s(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    async with telegram_bot(fake_api, library, sqlite_url, max_retries=1) as (app, retries):
        fake_api.fail("sendMessage", 429, retry_after=1, times=5, chats=[ADA["id"]])
        decision = await asyncio.wait_for(_push_to_ada(app, "Tasting day"), 10)
        assert decision.outcome is Outcome.DEFERRED and decision.reason == Reason.RETRY
        to_ada = [
            c
            for c in fake_api.calls_to("sendMessage", ok_only=False)
            if c.params["chat_id"] == ADA["id"]
        ]
        assert [c.status for c in to_ada[-2:]] == [429, 429]  # first try + max_retries=1
        assert not [
            c for c in fake_api.calls_to("sendMessage") if c.params["text"] == "Tasting day"
        ]
        assert retries == ["rate_limited", "rate_limited"]


async def test_transient_failures_are_retried_by_the_adapter_and_signalled(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    async with telegram_bot(fake_api, library, sqlite_url) as (app, retries):
        fake_api.fail("sendMessage", 502, times=2, chats=[ADA["id"]])
        decision = await asyncio.wait_for(_push_to_ada(app, "Harvest news"), 10)
        assert decision.outcome is Outcome.SENT
        assert retries == ["transient", "transient"]
