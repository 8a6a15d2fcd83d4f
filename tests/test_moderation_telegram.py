"""The community feature end to end through the fake Bot API, with aiogram and
with python-telegram-bot: captcha pass and timeout, anti-flood, newcomer link,
warn escalation, refused /ban, forged callback, /forgetme, /mydata."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import fake_bot_api
import telegram_support
from fake_bot_api import FakeBotAPI
from moderation_support import community_routers, now_clock, rows_about
from telegram_support import keyboard, telegram_settings

from bot.adapters.retry import RetryPolicy
from bot.adapters.telegram_base import TelegramAdapter
from bot.app import App
from bot.callbacks import install_callbacks
from bot.clock import ManualClock
from bot.config.model import WarmlineConfig
from moderation.captcha import sweep
from moderation.install import install_community
from moderation.service import Moderation

fake_api = fake_bot_api.fake_api
library = telegram_support.library

UPDATES = FakeBotAPI().updates
GROUP = UPDATES.group(-100123, "Tea Club")
ADA = UPDATES.user(7, "Ada")  # the group's administrator (not a bot admin)
NEW = UPDATES.user(50, "Newbie")
SPAM = UPDATES.user(51, "Spammy", username="spammy")
REX = UPDATES.user(52, "Rex")


@asynccontextmanager
async def community_app(
    api: FakeBotAPI,
    library: str,
    db_url: str,
    clock: ManualClock | None = None,
    **moderation: Any,
) -> AsyncIterator[App]:
    config = WarmlineConfig.model_validate(
        telegram_settings(api, library, db_url, ["1"], moderation=moderation)
    )
    api.admins[int(GROUP["id"])] = [ADA]
    app = App(config, routers=community_routers(), install_features=False, clock=clock)
    install_callbacks(app)
    install_community(app)
    assert isinstance(app.adapter, TelegramAdapter)
    app.adapter.retry = RetryPolicy(max_retries=2, base_delay=0.1)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


def in_group(user: dict[str, Any], text: str, reply_to: dict[str, Any] | None = None) -> Any:
    extra: dict[str, Any] = {}
    if reply_to is not None:
        extra["reply_to_message"] = {
            "message_id": 999,
            "date": 0,
            "chat": GROUP,
            "from": reply_to,
            "text": "earlier message",
        }
    return UPDATES.message(user, text, GROUP, **extra)


async def test_captcha_pass_then_forged_press_refused(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    async with community_app(fake_api, library, sqlite_url, captcha={"mode": "button"}):
        fake_api.push(UPDATES.join([NEW], GROUP))
        [restrict] = await fake_api.wait_for("restrictChatMember")
        assert restrict.params["user_id"] == 50
        [prompt] = await fake_api.wait_for("sendMessage")
        [data] = keyboard(prompt)
        assert data.startswith("cap:") and "|" in data

        fake_api.push(UPDATES.callback(NEW, "cap:1:ok", GROUP))  # forged: unsigned
        fake_api.push(UPDATES.callback(SPAM, data, GROUP))  # someone else's
        await fake_api.wait_for("answerCallbackQuery", 2)
        assert len(fake_api.calls_to("restrictChatMember")) == 1

        fake_api.push(UPDATES.callback(NEW, data, GROUP))
        await fake_api.wait_for("restrictChatMember", 2)  # lifted
        await fake_api.wait_for("deleteMessage")  # the prompt is cleaned up


async def test_captcha_timeout_removes_the_newcomer(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    clock = now_clock()
    config = {"captcha": {"mode": "question", "timeout": "1m"}}
    async with community_app(fake_api, library, sqlite_url, clock, **config) as app:
        fake_api.push(UPDATES.join([NEW], GROUP))
        await fake_api.wait_for("sendMessage")
        await app.runner.wait_idle()
        clock.advance(timedelta(minutes=2))
        await sweep(app.services.require(Moderation), clock.now())
        [ban] = await fake_api.wait_for("banChatMember")
        await fake_api.wait_for("unbanChatMember")
        assert ban.params["user_id"] == 50


async def test_flood_mute_and_newcomer_link(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    config = {"flood": {"messages": 3, "window": "1m"}, "newcomer": {"links": True}}
    async with community_app(fake_api, library, sqlite_url, **config):
        fake_api.push(UPDATES.join([NEW], GROUP))
        fake_api.push(in_group(NEW, "visit spam-shop.com now"))
        [deleted] = await fake_api.wait_for("deleteMessage")
        assert deleted.params["chat_id"] == GROUP["id"]
        fake_api.push(*(in_group(SPAM, f"msg {n}") for n in range(5)))
        [mute] = await fake_api.wait_for("restrictChatMember")
        assert mute.params["user_id"] == 51 and mute.params.get("until_date")
        await fake_api.wait_for("deleteMessage", 3)


async def test_warn_escalation_and_refused_ban(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    config = {"warnings": {"mute_at": 2, "ban_at": 3}}
    async with community_app(fake_api, library, sqlite_url, **config):
        fake_api.push(in_group(SPAM, "hello"))
        fake_api.push(in_group(REX, "/ban", reply_to=SPAM))
        await fake_api.wait_for("sendMessage")
        assert "Only this group's admins" in fake_api.sent_texts()[0]
        assert fake_api.calls_to("banChatMember") == []

        fake_api.push(in_group(ADA, "/warn spam", reply_to=SPAM))
        fake_api.push(in_group(ADA, "/warn @spammy again"))
        await fake_api.wait_for("restrictChatMember")
        fake_api.push(in_group(ADA, "/warn 51 third"))
        [ban] = await fake_api.wait_for("banChatMember")
        assert ban.params["user_id"] == 51
        assert len(fake_api.calls_to("getChatAdministrators")) == 1  # cached

        # the bot without ban rights: a clear answer, no crash
        fake_api.fail("banChatMember", 400, description="Bad Request: not enough rights")
        fake_api.push(in_group(REX, "hi"))
        fake_api.push(in_group(ADA, "/ban", reply_to=REX))
        for _ in range(200):
            if any("could not do that" in t for t in fake_api.sent_texts()):
                break
            await asyncio.sleep(0.02)
        assert any("could not do that" in t for t in fake_api.sent_texts())


async def test_mydata_and_forgetme(fake_api: FakeBotAPI, library: str, sqlite_url: str) -> None:
    async with community_app(fake_api, library, sqlite_url) as app:
        fake_api.push(UPDATES.command(REX, "start", "src-flyer"))
        fake_api.push(UPDATES.command(REX, "mydata"))
        [document] = await fake_api.wait_for("sendDocument")
        [(name, content)] = document.files.values()
        assert name.endswith(".json")
        assert json.loads(content)["tables"]["members"][0]["source"] == "flyer"

        fake_api.push(UPDATES.command(REX, "forgetme"))
        await fake_api.wait_for("sendMessage", 2)
        confirm = fake_api.calls_to("sendMessage")[-1]
        yes = keyboard(confirm)[0]
        member = await app.services.members.get("telegram", "52")
        assert member is not None
        fake_api.push(UPDATES.callback(REX, yes))
        await fake_api.wait_for("sendMessage", 3)
        await app.runner.wait_idle()
        assert fake_api.sent_texts()[-1].startswith("Done")
        assert await rows_about(app, member) == {}
