"""The update inbox on SQLite and PostgreSQL, and the intake's backpressure over HTTP."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import fake_bot_api
import pytest
from fake_bot_api import TOKEN, FakeBotAPI
from sqlalchemy import event, func, select

from bot.adapter import DurableSource
from bot.app import App
from bot.config.model import WarmlineConfig
from bot.context import Context
from bot.router import Router
from bot.schema import with_feature_tables
from storage.database import Database
from storage.inbox import SqlInbox, Stored
from storage.tables import ProcessedUpdate

fake_api = fake_bot_api.fake_api
LEASE = timedelta(seconds=30)


def rows(*keys: str) -> list[Stored]:
    return [Stored(key, f'{{"update_id": "{key}"}}') for key in keys]


async def test_put_take_finish_and_prune(db: Database) -> None:
    inbox = SqlInbox(db)
    now = datetime.now(UTC)
    assert await inbox.put(rows("a", "b"), now, LEASE) == {"a", "b"}
    # a redelivery of a waiting update is not new: its holder handles it
    assert await inbox.put(rows("b", "c", "c"), now, LEASE) == {"c"}
    assert await inbox.waiting() == 3
    # nothing to take while the leases run
    assert await inbox.take(10, now, LEASE) == []
    await inbox.finish(["a"], now)
    assert await inbox.waiting() == 2
    # a handled update delivered again is not new either
    assert await inbox.put(rows("a"), now, LEASE) == set()
    # the holder died: once its lease ran out, another worker takes the rows, oldest first
    later = now + LEASE + timedelta(seconds=1)
    taken = await inbox.take(10, later, LEASE)
    assert [row.key for row in taken] == ["b", "c"]
    assert await inbox.take(10, later, LEASE) == []  # leased again, to the taker
    await inbox.release(["c"], later)
    assert [row.key for row in await inbox.take(10, later, LEASE)] == ["c"]
    # handled keys are pruned after storage.dedupe_ttl
    await inbox.finish(["b", "c"], now - timedelta(days=3))
    assert await inbox.prune_processed(now - timedelta(days=2)) == 2
    async with db.reading() as conn:
        left = (await conn.execute(select(ProcessedUpdate.key))).scalars().all()
    assert left == ["a"]


async def test_put_and_finish_are_one_statement_each_on_postgresql(pg_url: str) -> None:
    """A batch of any size is one statement (arrays, not a row list or an IN list of its
    size), so every batch reuses one prepared statement per connection."""
    db = with_feature_tables(Database(pg_url))
    await db.migrate()
    sent: list[str] = []
    event.listen(
        db.engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_: sent.append(statement),
    )
    inbox = SqlInbox(db)
    now = datetime.now(UTC)
    try:
        assert await inbox.put(rows("a", "b", "b"), now, LEASE) == {"a", "b"}
        await inbox.finish(["a"], now)
        assert await inbox.put(rows("a", "b", "c", "d"), now, LEASE) == {"c", "d"}
        await inbox.finish(["b", "c", "d", "e"], now)
        assert len(sent) == 4
        assert await inbox.waiting() == 0
        async with db.reading() as conn:
            handled = set((await conn.execute(select(ProcessedUpdate.key))).scalars())
        assert handled == {"a", "b", "c", "d", "e"}
    finally:
        await db.close()
    puts, finishes = sent[0:4:2], sent[1:4:2]
    assert len(set(puts)) == 1 and len(set(finishes)) == 1  # the same text for 2 and 4 keys
    assert all("update_inbox" in put for put in puts)
    assert all("processed_updates" in finish for finish in finishes)


async def test_two_workers_never_take_the_same_row(db: Database) -> None:
    inbox = SqlInbox(db)
    now = datetime.now(UTC)
    keys = [f"k{n:03d}" for n in range(200)]
    await inbox.put(rows(*keys), now - LEASE * 2, LEASE)
    batches = await asyncio.gather(*(inbox.take(30, now, LEASE) for _ in range(10)))
    taken = [row.key for batch in batches for row in batch]
    assert len(taken) == len(set(taken)) == 200


def webhook_config(api: FakeBotAPI, db_url: str, **bot: object) -> WarmlineConfig:
    return WarmlineConfig.model_validate(
        {
            "bot": {
                "platform": "telegram",
                "telegram": {
                    "token": TOKEN,
                    "api_base": api.url,
                    "mode": "webhook",
                    "webhook": {"listen": "127.0.0.1:0", "secret_token": "s"},
                },
                **bot,
            },
            "storage": {"database_url": db_url},
        }
    )


async def test_webhook_answers_429_when_full_and_200_only_once_stored(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    gate = asyncio.Event()
    router = Router("slow")

    @router.message()
    async def slow(ctx: Context) -> None:
        await gate.wait()

    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    app = App(webhook_config(fake_api, url, max_queued_updates=3), routers=[router])
    await app.start()
    try:
        hook = f"http://127.0.0.1:{app.web.port}/telegram/webhook"
        user = fake_api.updates.user(5, "Ann")
        statuses = []
        async with aiohttp.ClientSession() as http:
            for _ in range(5):
                update = fake_api.updates.message(user, "hello")
                async with http.post(
                    hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s"}
                ) as response:
                    statuses.append(response.status)
        assert statuses == [200, 200, 200, 429, 429]
        async with app.database.reading() as conn:
            stored = await conn.execute(select(func.count()).select_from(_inbox()))
            assert stored.scalar_one() == 3  # every 200 was a stored update
        gate.set()
        await app.runner.wait_idle()
        for _ in range(100):
            if app.intake is not None and app.intake.held == 0:
                break
            await asyncio.sleep(0.05)
        assert app.intake is not None and app.intake.held == 0
    finally:
        gate.set()
        await app.stop()


def _inbox():  # type: ignore[no-untyped-def]
    from storage.inbox_tables import InboxUpdate

    return InboxUpdate.__table__


@pytest.mark.parametrize("lease", ["0", "0s"])
def test_inbox_lease_must_be_positive(lease: str) -> None:
    with pytest.raises(ValueError, match="inbox_lease"):
        WarmlineConfig.model_validate({"storage": {"inbox_lease": lease}})


@pytest.mark.parametrize(
    ("noted", "sends", "handled_to_the_end"),
    [
        # the earlier run sent the first reply and learnt its id, then died during the second
        ({"0.0": ["send", "5", "77"], "0.1": ["send", "5", None]}, [], False),
        # it sent the first reply and died before the second was started
        ({"0.0": ["send", "5", "77"]}, ["two"], True),
        # another path the first time (another chat): nothing is skipped
        ({"0.0": ["send", "6", "77"]}, ["one", "two"], True),
    ],
)
async def test_a_taken_over_update_does_not_repeat_the_calls_an_earlier_run_made(
    fake_api: FakeBotAPI,
    database_url: str,
    noted: dict[str, list[str | None]],
    sends: list[str],
    handled_to_the_end: bool,
) -> None:
    """A worker killed mid-update leaves its noted calls in the inbox row; the worker
    that takes the row over runs the handler again and skips what was made."""
    router = Router("two replies")
    first_ids: list[str] = []
    ended: list[bool] = []

    @router.message()
    async def twice(ctx: Context) -> None:
        first_ids.append((await ctx.reply("one")).message_id)
        await ctx.reply("two")
        ended.append(True)

    config = webhook_config(fake_api, database_url)
    config.storage.inbox_lease = timedelta(seconds=1)
    app = App(config, routers=[router])
    raw = fake_api.updates.message(fake_api.updates.user(5, "Ann"), "hello")
    assert app.intake is not None and isinstance(app.adapter, DurableSource)
    key = app.adapter.key_of(raw)
    await app.database.migrate()
    long_ago = datetime.now(UTC) - timedelta(minutes=1)
    await SqlInbox(app.database).put([Stored(key, json.dumps(raw))], long_ago, LEASE)
    await SqlInbox(app.database).note_calls(key, json.dumps(noted))
    await app.start()
    try:
        for _ in range(200):
            async with app.database.reading() as conn:
                done = await conn.scalar(select(func.count()).where(ProcessedUpdate.key == key))
            if done:
                break
            await asyncio.sleep(0.05)
        assert done, "the orphaned update was not taken over"
    finally:
        await app.stop()
    assert [call.params["text"] for call in fake_api.calls_to("sendMessage")] == sends
    assert ended == ([True] if handled_to_the_end else [])
    if noted["0.0"][1] == "5":
        assert first_ids == ["77"]  # the id the earlier run learnt
