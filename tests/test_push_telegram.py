"""Broadcasts through the fake Bot API, with aiogram and with python-telegram-bot.

An admin's ``/broadcast`` in DM → preview with a signed confirm button →
press → each reachable member gets the text once, the admin's progress
message is edited and a summary follows; a 403 marks the member unreachable
for the next broadcast; a 429 delays a message but loses none. The CLI sends
through the Telegram adapter without it ever polling.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import fake_bot_api
import pytest
import telegram_support
from fake_bot_api import FakeBotAPI
from telegram_support import keyboard, telegram_settings
from typer.testing import CliRunner

from bot.adapters.retry import RetryPolicy
from bot.adapters.telegram_base import TelegramAdapter
from bot.app import App
from bot.cli import app as cli
from bot.config.model import WarmlineConfig
from push.campaigns import Campaigns, Progress
from push.contract import Category, PushMessage
from push.gate import Gate

fake_api = fake_bot_api.fake_api
library = telegram_support.library
# PTB announces, on every 429, that RetryAfter.retry_after will become a timedelta
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

UPDATES = FakeBotAPI().updates
ADMIN = UPDATES.user(1, "Boss")
ADA, BEN, CY, DOT = (
    UPDATES.user(40 + n, name) for n, name in enumerate(["Ada", "Ben", "Cy", "Dot"])
)
EVE = UPDATES.user(45, "Eve")  # opts out
MEMBERS = [ADA, BEN, CY, DOT, EVE]
TEXT = "New spring oolong is in!"

PUSH: dict[str, Any] = {
    "quiet_hours": None,
    "min_gap": 0,
    "caps": {"per_day": 2, "per_week": None},
    "progress_every": "0.3s",  # a 1 s 429 hold spans several progress reports
    "pacing": {"per_second": 200, "per_chat_per_second": 100},
}


def settings(api: FakeBotAPI, library: str, db_url: str) -> dict[str, Any]:
    return telegram_settings(api, library, db_url, [str(ADMIN["id"])], push=PUSH)


@asynccontextmanager
async def telegram_bot(api: FakeBotAPI, library: str, db_url: str) -> AsyncIterator[App]:
    app = App(WarmlineConfig.model_validate(settings(api, library, db_url)))
    assert isinstance(app.adapter, TelegramAdapter)
    app.adapter.retry = RetryPolicy(max_retries=2, base_delay=0.1)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def members_start(api: FakeBotAPI, app: App) -> None:
    """Everyone /starts the bot; Eve then opts out with /stop."""
    api.push(*(UPDATES.command(user, "start") for user in MEMBERS))
    api.push(UPDATES.command(EVE, "stop"))
    await api.wait_for("sendMessage", len(MEMBERS) + 1)
    await app.runner.wait_idle()


def deliveries(api: FakeBotAPI, text: str) -> Counter[int]:
    """Chat id → how many times ``text`` was delivered there."""
    return Counter(
        int(c.params["chat_id"]) for c in api.calls_to("sendMessage") if c.params["text"] == text
    )


async def finished(app: App, campaign_id: str) -> Progress:
    """The campaign's final progress, once the confirm press has launched it."""
    campaigns = app.services.require(Campaigns)
    for _ in range(500):
        try:
            return await asyncio.wait_for(campaigns.wait(campaign_id), 10)
        except KeyError:  # the press is still on its way
            await asyncio.sleep(0.01)
    raise AssertionError(f"campaign {campaign_id} was never launched")


async def preview_of(api: FakeBotAPI, text: str) -> fake_bot_api.Call:
    before = len(api.calls_to("sendMessage"))
    api.push(UPDATES.command(ADMIN, "broadcast", f"all {text}"))
    calls = await api.wait_for("sendMessage", before + 1)
    preview = calls[-1]
    assert preview.params["chat_id"] == ADMIN["id"]
    return preview


async def test_broadcast_preview_confirm_progress_403_and_429(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    async with telegram_bot(fake_api, library, sqlite_url) as app:
        await members_start(fake_api, app)
        gate = app.services.require(Gate)
        dot = await app.services.members.get("telegram", str(DOT["id"]))
        assert dot is not None
        for n in range(2):  # Dot already had today's two promotional messages
            taken = await gate.check(dot, PushMessage("earlier", f"test:{n}"), Category.OFFER)
            assert taken.sent

        preview = await preview_of(fake_api, TEXT)
        shown = str(preview.params["text"])
        assert "5 members" in shown and TEXT in shown
        assert "sent 3" in shown and "daily cap 1" in shown and "opted out 1" in shown
        assert deliveries(fake_api, TEXT) == Counter()  # nothing before confirm
        confirm, _cancel = keyboard(preview)
        assert "|" in confirm  # HMAC-signed by the outbound door
        found = re.search(r"Broadcast (\S+) to", shown)
        assert found is not None
        campaign_id = found.group(1)

        # the first recipient send is refused (blocked), the second rate-limited
        # (to recipients only: the admin's progress report may go out first on a loaded box)
        members = [u["id"] for u in (ADA, BEN, CY)]
        fake_api.fail("sendMessage", 403, chats=members)
        fake_api.fail("sendMessage", 429, retry_after=1, chats=members)
        fake_api.push(UPDATES.callback(ADMIN, confirm))
        final = await finished(app, campaign_id)

        [blocked_call] = [
            c for c in fake_api.calls_to("sendMessage", ok_only=False) if c.status == 403
        ]
        [limited] = [c for c in fake_api.calls_to("sendMessage", ok_only=False) if c.status == 429]
        blocked = int(blocked_call.params["chat_id"])
        recipients = {int(u["id"]) for u in (ADA, BEN, CY)}
        assert blocked in recipients and blocked_call.params["text"] == TEXT
        got = deliveries(fake_api, TEXT)
        assert set(got) == recipients - {blocked} and set(got.values()) == {1}
        assert int(limited.params["chat_id"]) in got  # retried after 1 s, delivered once
        assert final.tally[("dropped", "unreachable")] == 1
        assert final.tally[("dropped", "opted_out")] == 1
        assert final.tally[("sent", None)] == 2

        admin_sends = [
            c for c in fake_api.calls_to("sendMessage") if c.params["chat_id"] == ADMIN["id"]
        ]
        progress, summary = admin_sends[-2:]
        assert str(progress.params["text"]).startswith(f"Broadcast {campaign_id}:")
        edits = [
            c for c in fake_api.calls_to("editMessageText") if c.params["chat_id"] == ADMIN["id"]
        ]
        assert edits and all(e.params["message_id"] == edits[0].params["message_id"] for e in edits)
        assert "5/5 done" in str(edits[-1].params["text"])
        summary_text = str(summary.params["text"])
        assert summary_text.startswith(f"Broadcast {campaign_id} finished for 5 members")
        assert "sent 2" in summary_text and "blocked the bot 1" in summary_text

        member = await app.services.members.get("telegram", str(blocked))
        assert member is not None and not member.reachable

        # the next broadcast leaves the blocked member out
        second = await preview_of(fake_api, "Tasting day on Sunday")
        assert "4 members" in str(second.params["text"])
        fake_api.push(UPDATES.callback(ADMIN, keyboard(second)[0]))
        found = re.search(r"Broadcast (\S+) to", str(second.params["text"]))
        assert found is not None
        await finished(app, found.group(1))
        again = deliveries(fake_api, "Tasting day on Sunday")
        assert blocked not in again and set(again.values()) == {1}
        assert set(again) == recipients - {blocked}


async def test_cli_broadcast_sends_through_telegram_without_polling(
    fake_api: FakeBotAPI, library: str, tmp_path: Path
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    async with telegram_bot(fake_api, library, db_url) as app:
        await members_start(fake_api, app)
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps(settings(fake_api, library, db_url)), encoding="utf-8")
    polls = len(fake_api.calls_to("getUpdates", ok_only=False))
    args = ["broadcast", "-c", str(config), "--segment", "all", "--text", "Harvest news"]
    # the CLI runs its own event loop; the fake server keeps serving on this one
    result = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert result.exit_code == 0, result.output
    assert "5 members" in result.output and "done: sent 4" in result.output
    got = deliveries(fake_api, "Harvest news")
    assert set(got) == {int(u["id"]) for u in (ADA, BEN, CY, DOT)} and set(got.values()) == {1}
    assert len(fake_api.calls_to("getUpdates", ok_only=False)) == polls  # never polled
