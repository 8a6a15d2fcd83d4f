"""A broadcast's preview and summary say until when deferred members wait (issue 16,
section 5: "deferred (minimum gap)" says until when), in the shop's timezone and the
admin's language, through the local adapter."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from harness import LocalBot, local_bot, make_config

from bot.clock import ManualClock
from push.campaigns import Campaigns
from push.contract import Category, Outcome, PushMessage
from push.gate import Gate

#: 12:00 in Shanghai (the default push.timezone), outside the quiet hours 22:00-08:00
NOON = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)
#: 23:00 in Shanghai: inside the quiet hours
LATE = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def config(url: str) -> object:
    return make_config(
        url,
        push={
            "min_gap": "4h",
            "scheduler": {"enabled": False},
            "progress_every": 0.05,
            "pacing": {"per_second": 200, "per_chat_per_second": 100},
        },
    )


async def two_sent_earlier(bot: LocalBot, clock: ManualClock) -> None:
    """ann is sent a promotion at 12:00, bo at 13:00 (Shanghai); cy is sent nothing."""
    for name in ("ann", "bo", "cy"):
        await bot.say(bot.user(name), "/start")
    gate = bot.app.services.require(Gate)
    for name, at in (("ann", NOON), ("bo", NOON + timedelta(hours=1))):
        clock.set(at)
        member = await bot.app.services.members.get("local", name)
        assert member is not None
        decision = await gate.submit(
            member, PushMessage("Tea tips", f"tips-{name}"), Category.VALUE
        )
        assert decision.outcome is Outcome.SENT
    clock.set(NOON + timedelta(hours=2))  # 14:00: ann's gap ends at 16:00, bo's at 17:00


async def test_preview_and_summary_say_until_when_the_minimum_gap_defers(
    sqlite_url: str,
) -> None:
    clock = ManualClock(NOON)
    async with local_bot(config(sqlite_url), clock=clock) as bot:
        await two_sent_earlier(bot, clock)
        admin = bot.user("admin")
        [preview] = await bot.say(admin, "/broadcast all Spring harvest is in")
        assert "sent 1" in preview.text
        assert "deferred 2 (minimum gap 2, due between Jan 05, 16:00 and 17:00)" in preview.text
        found = re.search(r"Broadcast (\S+) to", preview.text)
        assert found is not None and preview.buttons[0][0].data is not None
        await bot.press(admin, preview.buttons[0][0].data)
        final = await bot.app.services.require(Campaigns).wait(found.group(1))
        assert final.finished
        summary = [a.message for a in bot.adapter.log if a.chat.id == "admin" and a.message][-1]
        assert "finished for 3 members" in summary.text
        assert "deferred 2 (minimum gap 2, due between Jan 05, 16:00 and 17:00)" in summary.text


async def test_quiet_hours_say_until_when_in_the_admins_language(sqlite_url: str) -> None:
    clock = ManualClock(LATE)
    async with local_bot(config(sqlite_url), clock=clock) as bot:
        for name in ("ann", "bo"):
            await bot.say(bot.user(name), "/start")
        [english] = await bot.say(bot.user("admin"), "/broadcast all Good morning")
        assert "deferred 2 (quiet hours 2, until Jan 06, 08:00)" in english.text
        await bot.say(bot.user("admin"), "/lang zh")
        [chinese] = await bot.say(bot.user("admin"), "/broadcast all 早上好")
        assert "已延后 2 (免打扰时段 2，延至 01月06日 08:00)" in chinese.text
