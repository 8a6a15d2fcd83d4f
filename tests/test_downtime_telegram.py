"""Downtime catch-up on Telegram, with aiogram and with python-telegram-bot.

A bot runs on a virtual clock against the fake Bot API: members start it, some
order, one opts out, a crowd joins the group. Then it is stopped, the clock moves
on three days, and a second App starts on the same database with its real flow
ticker running (``warmline run`` after a weekend outage). Overdue care tips that
no longer make sense are skipped as ``stale``; the rest of the backlog goes out
at ``flows.catch_up.per_minute``, never in a burst; the gate's caps still hold;
the opted-out member gets nothing; the group welcome respects
``push.group_per_day``.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import fake_bot_api
import telegram_support
from fake_bot_api import FakeBotAPI
from flows_support import advance, tomorrow_10_shanghai
from telegram_support import sent_messages, telegram_bot, telegram_settings

from bot.clock import ManualClock
from bot.config import load_config
from flows.engine import FlowEngine
from push.gate import Gate

fake_api = fake_bot_api.fake_api
library = telegram_support.library
pytest_plugins = ("flows_fixtures",)

UPDATES = FakeBotAPI().updates
ADMIN = UPDATES.user(1, "Boss")
GROUP = UPDATES.group(-100777, "Tea Club")
#: twelve members who start the bot; the first eight order
MEMBERS = [UPDATES.user(100 + i, f"M{i}", username=f"m{i}") for i in range(12)]
JOINERS = [UPDATES.user(300 + i, f"J{i}") for i in range(6)]
PER_MINUTE = 4
FLOWS = {
    "offer": {"min_trust": 100},  # no offers: this test is about the backlog
    "content": {"cadence": "1d"},
    "products": {"green": {"name": "Green tea"}},
    "lateness": {"message": "12h"},
}
PUSH = {
    "scheduler": {"enabled": False},
    "pacing": {"per_second": 500, "per_chat_per_second": 500},
    "group_per_day": 3,
    "catch_up": {"per_minute": PER_MINUTE, "late_after": "10m"},
}


def settings(api: FakeBotAPI, library: str, db_url: str, tick: str) -> dict[str, Any]:
    flows = {**FLOWS, "tick": tick}
    return telegram_settings(api, library, db_url, [str(ADMIN["id"])], flows=flows, push=PUSH)


def write(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML
    return path


def to_members(calls: list[Any]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for call in sent_messages(calls):
        out[int(call.params["chat_id"])].append(str(call.params["text"]))
    return out


async def settled_count(fake_api: FakeBotAPI, mark: int) -> int:
    """Messages sent since ``mark`` once sending has stopped for 0.3 s of real time, so a
    send still on its way (slow machine) counts in its own minute, not the next one."""
    count = -1
    while True:
        await asyncio.sleep(0.3)
        now = len(sent_messages(fake_api.calls[mark:]))
        if now == count:
            return now
        count = now


async def test_restart_after_downtime_is_paced_fresh_and_capped(
    fake_api: FakeBotAPI, library: str, journey_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(tomorrow_10_shanghai())
    first = write(tmp_path, "first.yaml", settings(fake_api, library, journey_url, "0"))
    async with telegram_bot(fake_api, load_config(first, env={}), clock) as bot:
        for member in MEMBERS:
            await bot.send(UPDATES.command(member, "start"))
        # six join the group at once: the welcome is a bot post, three a day at most
        before = len(fake_api.calls)
        await bot.send(UPDATES.join(JOINERS, GROUP))
        group_posts = [
            c
            for c in sent_messages(fake_api.calls[before:])
            if int(c.params["chat_id"]) == GROUP["id"]
        ]
        assert len(group_posts) == 3
        # the first four order now: their care tip, due on day 2, is 23 hours late at the
        # restart (past its 12 h bound); the next four order a day later: theirs is due
        # an hour after the restart
        for member in MEMBERS[:4]:
            await bot.send(UPDATES.command(ADMIN, "order", f"@{member['username']} green 10"))
        await advance(bot.app, clock, timedelta(days=1), timedelta(hours=2))
        for member in MEMBERS[4:8]:
            await bot.send(UPDATES.command(ADMIN, "order", f"@{member['username']} green 10"))
        await bot.send(UPDATES.command(MEMBERS[7], "stop"))  # opts out before the outage
    stopped = clock.now()

    # down for 47 hours; back at 09:00 in Shanghai (after quiet hours), when everyone's
    # content slot of the day before (10:00) is 23 hours late: backlog, not yet stale
    clock.set(stopped + timedelta(days=1, hours=23))
    restart = clock.now()
    # the real flow ticker runs (every 50 ms of real time) on the virtual clock
    second = write(tmp_path, "second.yaml", settings(fake_api, library, journey_url, "0.05"))
    before = len(fake_api.calls)
    async with telegram_bot(fake_api, load_config(second, env={}), clock) as bot:
        services = bot.app.services
        engine = services.require(FlowEngine)
        await asyncio.sleep(1.0)  # twenty ticks at the same virtual minute
        burst = sent_messages(fake_api.calls[before:])
        assert 0 < len(burst) <= PER_MINUTE, "the backlog went out at once"

        per_minute = [len(burst)]
        while engine.catch_up.held or not per_minute[-1] == 0:
            assert clock.now() - restart < timedelta(hours=1), "backlog never drained"
            mark = len(fake_api.calls)
            clock.advance(timedelta(minutes=1))
            per_minute.append(await settled_count(fake_api, mark))
        assert max(per_minute) <= PER_MINUTE
        # a few hours later the deferred rest (minimum gap) may follow, within the caps
        await advance(bot.app, clock, timedelta(hours=20), timedelta(hours=1))
        care = "care note"
        for _ in range(100):  # a tick of the real ticker may still be finishing (slow machine)
            received = to_members(fake_api.calls[before:])
            if all(any(care in t for t in received[m["id"]]) for m in MEMBERS[4:7]):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)
        received = to_members(fake_api.calls[before:])
        for member in MEMBERS[:4]:  # care tip 23 hours late: skipped as stale
            assert not [t for t in received[member["id"]] if care in t]
        for member in MEMBERS[4:7]:  # care tip due after the restart: sent, once
            assert len([t for t in received[member["id"]] if care in t]) == 1
        assert received.get(MEMBERS[7]["id"], []) == []  # opted out meanwhile: nothing
        for member in MEMBERS:  # the caps hold through the catch-up
            assert len(received.get(member["id"], [])) <= 2

        gate = services.require(Gate)
        await gate.flush_decisions()
        stale = [d for d in await gate.decisions.recent(500) if d.reason == "stale"]
        keys = {d.message_key for d in stale}
        for member in MEMBERS[:4]:
            record = await services.members.get("telegram", str(member["id"]))
            assert record is not None
            assert any(f":{record.id}:" in k and k.endswith(":care_tips") for k in keys)
        assert all(d.outcome == "dropped" for d in stale)
