"""Broadcasts: preview → confirm → progress → summary; exactly once across a crash; 429s; 403s."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from harness import LocalBot, local_bot, make_config
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.errors import RateLimited, RecipientUnreachable
from bot.events import OutgoingMessage, SentMessage
from push.campaigns import Campaigns
from push.gate import Gate
from push.store import CampaignStore

FAST = {
    "quiet_hours": None,
    "progress_every": 0.05,
    "pacing": {"per_second": 200, "per_chat_per_second": 100},
}


def config(url: str, **push: Any) -> Any:
    return make_config(url, push={**FAST, **push})


async def audience(bot: LocalBot, count: int) -> list[str]:
    names = [f"m{n:03d}" for n in range(count)]
    for name in names:
        await bot.say(bot.user(name), "/start")
    return names


def received(bots: list[LocalBot], text: str) -> Counter[str]:
    return Counter(
        a.chat.id
        for bot in bots
        for a in bot.adapter.log
        if a.kind == "send" and a.message is not None and a.message.text == text
    )


async def test_admin_broadcast_preview_confirm_progress_summary(sqlite_url: str) -> None:
    async with local_bot(config(sqlite_url, pacing={"per_second": 40})) as bot:
        names = await audience(bot, 30)
        await bot.say(bot.user(names[0]), "/stop")
        admin = bot.user("admin")
        usage = await bot.say(admin, "/broadcast")
        assert usage[0].text.startswith("Usage: /broadcast") and "all" in usage[0].text
        unknown = await bot.say(admin, "/broadcast vips Hi")
        assert "Unknown segment" in unknown[0].text
        assert "only bot admins" in (await bot.say(bot.user(names[1]), "/broadcast all x"))[0].text
        preview = (await bot.say(admin, "/broadcast all New spring oolong is in!"))[0]
        assert "30 members" in preview.text and "sent 29" in preview.text
        assert "opted out 1" in preview.text
        assert received([bot], "New spring oolong is in!") == Counter()  # nothing before confirm
        confirm = preview.buttons[0][0].data
        assert confirm is not None
        await bot.press(admin, confirm)
        found = re.search(r"Broadcast (\S+) to", preview.text)
        assert found is not None
        campaign_id = found.group(1)
        final = await bot.app.services.require(Campaigns).wait(campaign_id)
        assert final.finished and final.done == 30
        got = received([bot], "New spring oolong is in!")
        assert set(got) == set(names[1:]) and set(got.values()) == {1}
        admin_log = [a for a in bot.adapter.log if a.chat.id == "admin" and a.message]
        edits = [a for a in admin_log if a.kind == "edit"]
        assert edits, "the progress message is edited as the fan-out goes"
        summary = admin_log[-1].message
        assert summary is not None and "finished for 30 members" in summary.text
        assert "sent 29" in summary.text and "opted out 1" in summary.text
        # pressing confirm again does not send twice
        again = await bot.press(admin, confirm)
        assert "already confirmed" in again[-1].text


async def test_fan_out_killed_midway_resumes_exactly_once_after_restart(sqlite_url: str) -> None:
    cfg = config(sqlite_url, pacing={"per_second": 60})
    bots: list[LocalBot] = []
    async with local_bot(cfg) as first:
        bots.append(first)
        names = await audience(first, 60)
        campaigns = first.app.services.require(Campaigns)
        preview = await campaigns.draft("all", "Harvest news")
        await campaigns.confirm(preview.campaign_id)
        campaigns.launch(preview.campaign_id)
        for _ in range(500):
            sent_before = sum(received(bots, "Harvest news").values())
            if sent_before >= 5:
                break
            await asyncio.sleep(0.01)
        assert 0 < sent_before < 60
        # leaving the block stops the app: the fan-out task is cancelled mid-way
    async with local_bot(cfg) as second:
        bots.append(second)
        store = CampaignStore(second.app.database)
        for _ in range(200):
            row = await store.get(preview.campaign_id)
            if row is not None and row.status == "done":
                break
            await asyncio.sleep(0.05)
        assert row is not None and row.status == "done", "resumed by the scheduler's leader"
        got = received(bots, "Harvest news")
        assert set(got) == set(names) and set(got.values()) == {1}
        tally = await store.tally(preview.campaign_id)
        assert sum(n for (state, _), n in tally.items() if state == "sent") == 60


async def test_429s_lose_nothing_and_403s_mark_members_unreachable(sqlite_url: str) -> None:
    async with local_bot(config(sqlite_url)) as bot:
        names = await audience(bot, 20)
        original = bot.adapter.send
        calls = Counter[str]()

        async def flaky(message: OutgoingMessage) -> SentMessage:
            calls[message.chat.id] += 1
            if message.chat.id == names[3]:
                raise RecipientUnreachable("403 blocked")
            if calls[message.chat.id] == 1 and message.chat.id in names[::4]:
                raise RateLimited(0.05)
            return await original(message)

        bot.adapter.send = flaky  # type: ignore[method-assign]
        campaigns = bot.app.services.require(Campaigns)
        preview = await campaigns.draft("all", "Tasting day")
        final = await campaigns.run(preview.campaign_id)
        got = received([bot], "Tasting day")
        assert set(got) == set(names) - {names[3]} and set(got.values()) == {1}
        assert final.tally[("dropped", "unreachable")] == 1
        assert bot.app.services.require(Gate).sender.rate_limited == len(names[::4])
        blocked = await bot.app.services.members.get("local", names[3])
        assert blocked is not None and not blocked.reachable
        # next time the blocked member is not in the audience at all
        assert (await campaigns.draft("all", "Next")).audience == 19


def test_cli_dry_run_and_kill_switch(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "bot:\n  platform: local\n"
        f"storage:\n  database_url: sqlite+aiosqlite:///{tmp_path / 'bot.db'}\n"
        "push:\n  quiet_hours: null\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    dry = runner.invoke(cli, ["broadcast", "-c", str(cfg), "-s", "all", "-t", "hi", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "0 members" in dry.output and "nothing was sent" in dry.output
    bad = runner.invoke(cli, ["broadcast", "-c", str(cfg), "-s", "vips", "-t", "hi"])
    assert bad.exit_code == 2 and "unknown segment" in bad.output
    assert runner.invoke(cli, ["push", "pause", "-c", str(cfg)]).exit_code == 0
    shown = runner.invoke(cli, ["push", "decisions", "-c", str(cfg)])
    assert shown.exit_code == 0 and "kill switch: ON" in shown.output
    assert runner.invoke(cli, ["push", "resume", "-c", str(cfg)]).exit_code == 0
    assert "kill switch: off" in runner.invoke(cli, ["push", "decisions", "-c", str(cfg)]).output


@pytest.mark.parametrize("per_second", [30.0])
def test_pacer_books_slots_within_every_limit(per_second: float) -> None:
    from bot.events import ChatKind, ChatRef
    from push.config import PacingConfig
    from push.pacing import Pacer

    now = [0.0]
    pacer = Pacer(PacingConfig(per_second=per_second), monotonic=lambda: now[0])
    dms = [pacer.book(ChatRef("local", str(n))) for n in range(60)]
    assert dms[-1] == pytest.approx(59 / per_second)  # 30/s overall, no burst
    same_chat = [pacer.book(ChatRef("local", "7")) for _ in range(3)]
    assert same_chat[1] - same_chat[0] == pytest.approx(1.0)  # 1/s per chat
    group = ChatRef("local", "-100", ChatKind.GROUP)
    posts = [pacer.book(group) for _ in range(21)]
    assert posts[20] - posts[0] >= 60.0 - 1e-9  # 20 per minute per group
    now[0] = 100.0
    pacer.hold(5.0)
    assert pacer.book(ChatRef("local", "x")) == pytest.approx(105.0)  # 429: everyone waits
