"""The activity tracker after ``/forgetme``: the erased member is never written back
(no ``FOREIGN KEY constraint failed`` loop), and everyone else keeps being recorded;
through aiogram and python-telegram-bot against the fake Bot API."""

from __future__ import annotations

import logging
from typing import Any

import fake_bot_api
import pytest
import telegram_support
from fake_bot_api import FakeBotAPI
from sqlalchemy import select, text
from telegram_support import keyboard, telegram_bot, telegram_settings

from bot.config.model import WarmlineConfig
from insight.queries.activity import activity
from insight.tracker import ActivityTracker
from storage.records import MemberRecord

fake_api = fake_bot_api.fake_api
library = telegram_support.library

UPDATES = FakeBotAPI().updates
REX = UPDATES.user(52, "Rex")
ADA = UPDATES.user(53, "Ada")
BEN = UPDATES.user(54, "Ben")


async def _weeks(tracker: ActivityTracker) -> dict[int, int]:
    async with tracker.database.engine.connect() as conn:
        return {r.member_id: r.weeks for r in await conn.execute(select(activity))}


async def _member(bot: telegram_support.TelegramBot, user: dict[str, Any]) -> MemberRecord:
    found = await bot.app.services.members.get("telegram", str(user["id"]))
    assert found is not None
    return found


async def test_forgetme_then_others_still_recorded(
    fake_api: FakeBotAPI, library: str, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = WarmlineConfig.model_validate(telegram_settings(fake_api, library, sqlite_url, []))
    async with telegram_bot(fake_api, config) as bot:
        tracker = bot.app.services.require(ActivityTracker)
        await bot.send(*(UPDATES.command(user, "start") for user in (REX, ADA)))
        await bot.send(UPDATES.message(REX, "hello"), UPDATES.message(ADA, "hi"))
        rex, ada = await _member(bot, REX), await _member(bot, ADA)
        assert await tracker.flush() == 2

        [confirm] = await bot.send(UPDATES.command(REX, "forgetme"))
        await bot.send(UPDATES.message(REX, "one more word before I go"))
        await bot.send(UPDATES.callback(REX, keyboard(confirm)[0]))  # noted after the erasure
        assert await bot.app.services.members.get("telegram", str(REX["id"])) is None

        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="warmline.insight"):
            await bot.send(UPDATES.message(ADA, "still here"), UPDATES.command(BEN, "start"))
            await bot.send(UPDATES.message(BEN, "new here"))
            ben = await _member(bot, BEN)
            assert await tracker.flush() == 2  # Ada and Ben; nothing about Rex
            assert await tracker.flush() == 0  # nothing left over to retry forever
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        weeks = await _weeks(tracker)
        assert rex.id not in weeks
        assert weeks[ada.id] == 1 and weeks[ben.id] == 1


async def test_a_row_that_fails_alone_does_not_hold_back_the_others(
    fake_api: FakeBotAPI, sqlite_url: str
) -> None:
    """The database refuses one member's row (a trigger here; in production, a member
    erased by another worker between the look-up and the insert): the batch fails,
    the others are written one by one and the refused row is kept for the next flush."""
    config = WarmlineConfig.model_validate(telegram_settings(fake_api, "aiogram", sqlite_url, []))
    async with telegram_bot(fake_api, config) as bot:
        tracker = bot.app.services.require(ActivityTracker)
        await bot.send(*(UPDATES.command(user, "start") for user in (REX, ADA, BEN)))
        rex, ada, ben = [await _member(bot, user) for user in (REX, ADA, BEN)]
        async with tracker.database.engine.begin() as conn:
            await conn.execute(activity.delete())
            await conn.execute(
                text(
                    "CREATE TRIGGER refuse_rex BEFORE INSERT ON insight_activity "
                    f"WHEN NEW.member_id = {rex.id} BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        for member in (ada, rex, ben):
            tracker.note(member, member.joined_at)
        assert await tracker.flush() == 2
        assert set(await _weeks(tracker)) == {ada.id, ben.id}

        async with tracker.database.engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER refuse_rex"))
        assert await tracker.flush() == 1  # Rex's row was kept, not lost
        assert set(await _weeks(tracker)) == {ada.id, ben.id, rex.id}
