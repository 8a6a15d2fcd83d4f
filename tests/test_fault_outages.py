"""Redis or PostgreSQL down for 5 s: every member message is answered once, no apology.

The stores are the test's own (a redis-server and an initdb'd PostgreSQL on free
ports), stopped and started again by the test; the worker is a real `warmline run`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import fake_bot_api
import pytest
from fake_bot_api import FakeBotAPI
from fault_support import (
    HOOK_PATH,
    OwnPostgres,
    OwnRedis,
    WebhookSender,
    Worker,
    free_port,
    replies_per_chat,
    settle,
    worker_config,
)

from bot.schema import with_feature_tables
from storage.database import Database

fake_api = fake_bot_api.fake_api
pytestmark = [
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    pytest.mark.timeout(600),  # a worker start-up and a store outage, on a busy machine
]

MEMBERS = 10
FIRST_USER = 800_000
APOLOGY = "Sorry, something went wrong"


def messages(api: FakeBotAPI, first: int = FIRST_USER) -> list[dict[str, object]]:
    return [
        api.updates.command(api.updates.user(first + n, f"M{n}"), "help") for n in range(MEMBERS)
    ]


def assert_answered_once(api: FakeBotAPI, first: int, logs: str) -> None:
    counts = replies_per_chat(api)
    wanted = {first + n: 1 for n in range(MEMBERS)}
    got = {chat: counts.get(chat, 0) for chat in wanted}
    assert got == wanted, f"{got}\n{logs[-3000:]}"
    apologies = [text for text in api.sent_texts() if text.startswith(APOLOGY)]
    assert not apologies, logs[-3000:]


@pytest.mark.parametrize("library", ["aiogram", "ptb"])
async def test_redis_down_for_5s(fake_api: FakeBotAPI, library: str, tmp_path: Path) -> None:
    redis = OwnRedis(tmp_path / "redis")
    await redis.start()
    config = worker_config(
        tmp_path / "worker.yaml",
        fake_api,
        library,
        f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
        redis_url=redis.url,
    )
    worker = Worker(config, tmp_path / "worker.log")
    try:
        await worker.start()
        fake_api.push(*messages(fake_api, FIRST_USER - 100))  # before: all well
        await settle(fake_api, MEMBERS, timeout=30, quiet=0.5)
        redis.stop()
        fake_api.push(*messages(fake_api))
        await asyncio.sleep(5)
        await redis.start()
        await settle(fake_api, 2 * MEMBERS, timeout=60)
    finally:
        await worker.stop()
        redis.stop()
    assert_answered_once(fake_api, FIRST_USER, worker.text())


@pytest.mark.parametrize(("library", "mode"), [("aiogram", "polling"), ("ptb", "webhook")])
async def test_postgresql_down_for_5s(
    fake_api: FakeBotAPI, library: str, mode: str, tmp_path: Path
) -> None:
    postgres = OwnPostgres()
    await asyncio.to_thread(postgres.init)
    await postgres.start()
    database = with_feature_tables(Database(postgres.url))
    await database.migrate()
    await database.close()
    port = free_port()
    config = worker_config(
        tmp_path / "worker.yaml", fake_api, library, postgres.url, mode=mode, port=port
    )
    worker = Worker(config, tmp_path / "worker.log")
    sender = WebhookSender(f"http://127.0.0.1:{port}{HOOK_PATH}")
    deliver = sender.push if mode == "webhook" else fake_api.push
    try:
        await worker.start()
        await sender.start()
        deliver(*messages(fake_api, FIRST_USER - 100))
        await settle(fake_api, MEMBERS, timeout=30, quiet=0.5)
        await asyncio.to_thread(postgres.stop)
        deliver(*messages(fake_api))
        await asyncio.sleep(5)
        await postgres.start()
        await settle(fake_api, 2 * MEMBERS, timeout=60)
    finally:
        await sender.close()
        await worker.stop()
        await asyncio.to_thread(postgres.remove)
    assert_answered_once(fake_api, FIRST_USER, worker.text())
    # the outage was met, not slept through: nothing was acknowledged while it lasted
    if mode == "webhook":
        assert sender.refused > 0
    else:
        assert "could not store polled updates" in worker.text()
