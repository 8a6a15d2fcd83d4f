"""A burst of 2,000 /start on SQLite: every member answered once, no update failed."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import fake_bot_api
import pytest
import telegram_support
from fake_bot_api import FakeBotAPI
from fault_support import replies_per_chat
from sqlalchemy import func, select

from bot.config.model import WarmlineConfig
from storage.inbox_tables import InboxUpdate
from storage.tables import ProcessedUpdate

fake_api = fake_bot_api.fake_api
pytestmark = pytest.mark.timeout(900)

BURST = 2000
FIRST_USER = 900_000


async def test_two_thousand_starts_on_sqlite(
    fake_api: FakeBotAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = telegram_support.telegram_settings(
        fake_api, "aiogram", f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", admins=["1"]
    )
    settings["push"] = {"quiet_hours": None}
    config = WarmlineConfig.model_validate(settings)
    caplog.set_level(logging.WARNING)
    async with telegram_support.telegram_bot(fake_api, config) as bot:
        fake_api.push(
            *(
                fake_api.updates.command(fake_api.updates.user(FIRST_USER + n, f"M{n}"), "start")
                for n in range(BURST)
            )
        )
        deadline = time.monotonic() + 800
        while True:
            counts = replies_per_chat(fake_api)
            if all(counts.get(FIRST_USER + n) for n in range(BURST)):
                break
            assert time.monotonic() < deadline, f"{len(counts)} of {BURST} answered"
            await fake_api.taken(timeout=800)
            await bot.app.runner.wait_idle()
            await asyncio.sleep(0.2)
        assert bot.app.intake is not None
        await bot.app.runner.wait_idle()
        for _ in range(200):
            if bot.app.intake.held == 0:
                break
            await asyncio.sleep(0.05)
        async with bot.app.database.reading() as conn:
            waiting = (await conn.execute(select(func.count()).select_from(InboxUpdate))).scalar()
            handled = (
                await conn.execute(
                    select(func.count())
                    .select_from(ProcessedUpdate)
                    .where(ProcessedUpdate.key.like("tg:%"))
                )
            ).scalar()
        assert (waiting, handled) == (0, BURST)
    failed = [r for r in caplog.records if "handler failed" in r.getMessage()]
    apologies = [t for t in fake_api.sent_texts() if t.startswith("Sorry, something went wrong")]
    assert not failed and not apologies, [r.getMessage()[:200] for r in failed[:3]]
