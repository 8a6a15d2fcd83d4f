"""Segment broadcasts through the fake Bot API, with aiogram and with python-telegram-bot:
a broadcast to ``tag:vip`` reaches the tagged member only, and one to a saved segment
reaches exactly the members its filter matches."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any

import fake_bot_api
import pytest
import telegram_support
from fake_bot_api import Call, FakeBotAPI
from telegram_support import TelegramBot, keyboard, telegram_bot, telegram_settings, texts, to_chat

from bot.config.model import WarmlineConfig
from push.campaigns import Campaigns

fake_api = fake_bot_api.fake_api
library = telegram_support.library
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

UPDATES = FakeBotAPI().updates
ADMIN = UPDATES.user(1, "Boss")
ADA, BEN, CY = (UPDATES.user(60 + n, name) for n, name in enumerate(["Ada", "Ben", "Cy"]))
PUSH: dict[str, Any] = {
    "quiet_hours": None,
    "min_gap": 0,
    "progress_every": "0.3s",
    "pacing": {"per_second": 200, "per_chat_per_second": 100},
}


def config(api: FakeBotAPI, library: str, db_url: str) -> WarmlineConfig:
    settings = telegram_settings(api, library, db_url, [str(ADMIN["id"])], push=PUSH)
    return WarmlineConfig.model_validate(settings)


def deliveries(api: FakeBotAPI, text: str) -> Counter[int]:
    """Chat id → how many times ``text`` was delivered there."""
    return Counter(
        int(c.params["chat_id"]) for c in api.calls_to("sendMessage") if c.params["text"] == text
    )


async def admin_says(bot: TelegramBot, command: str, args: str) -> Call:
    """The bot's last message to the admin after ``/command args``."""
    replies = to_chat(await bot.send(UPDATES.command(ADMIN, command, args)), ADMIN)
    assert replies, f"no answer to /{command} {args}"
    return replies[-1]


async def broadcast(bot: TelegramBot, segment: str, text: str) -> str:
    """/broadcast, press the signed confirm button, wait for the fan-out; the preview."""
    preview = await admin_says(bot, "broadcast", f"{segment} {text}")
    shown = str(preview.params["text"])
    found = re.search(r"Broadcast (\S+) to", shown)
    assert found is not None, shown
    bot.api.push(UPDATES.callback(ADMIN, keyboard(preview)[0]))
    campaigns = bot.app.services.require(Campaigns)
    for _ in range(500):
        try:
            await asyncio.wait_for(campaigns.wait(found.group(1)), 10)
            return shown
        except KeyError:  # the press is still on its way
            await asyncio.sleep(0.01)
    raise AssertionError(f"campaign {found.group(1)} was never launched")


async def test_segment_broadcasts_by_tag_and_by_saved_name(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    async with telegram_bot(fake_api, config(fake_api, library, sqlite_url)) as bot:
        await bot.send(*(UPDATES.command(user, "start") for user in (ADA, BEN, CY)))
        tagged = await admin_says(bot, "tag", f"{ADA['id']} vip")
        assert "Tagged" in str(tagged.params["text"])

        shown = await broadcast(bot, "tag:vip", "VIP tasting on Friday")
        assert 'segment "tag:vip": 1 member' in shown and "sent 1" in shown
        assert deliveries(fake_api, "VIP tasting on Friday") == Counter({ADA["id"]: 1})

        saved = await admin_says(bot, "segment", "save regulars !tag:vip")
        # Ben and Cy, and the admin, who wrote to the bot but never started it
        assert "Saved segment regulars = !tag:vip (members: 3, reachable: 2)" in texts([saved])[0]
        listed = texts([await admin_says(bot, "segment", "")])[0]
        assert "• regulars = !tag:vip — members: 3, reachable: 2" in listed

        shown = await broadcast(bot, "regulars", "Autumn menu")
        assert 'segment "regulars = !tag:vip": 2 members' in shown and "sent 2" in shown
        got = deliveries(fake_api, "Autumn menu")
        assert got == Counter({BEN["id"]: 1, CY["id"]: 1})

        refused = texts([await admin_says(bot, "broadcast", "tier:gold Hello")])[0]
        assert 'unknown tier "gold"' in refused
        assert deliveries(fake_api, "Hello") == Counter()
