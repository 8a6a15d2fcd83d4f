"""End-to-end ``/start`` throughput with durable handling: Warmline next to a durable peer.

Both contenders long-poll the same fake Bot API on 127.0.0.1 (tests/fake_bot_api.py)
for a burst of ``/start`` updates from distinct members and answer each one over HTTP:

* warmline: the App exactly as ``warmline run`` builds it (every feature, the default
  routers, aiogram), so each update is stored in the inbox before its offset is
  confirmed, then the member, journey, timers and interaction are written and the
  greeting is sent;
* peer: a bare aiogram ``Dispatcher`` polling the same way, whose handler upserts the
  member and records the update id with SQLAlchemy (one transaction) and answers.

Each runs on the same database (SQLite file, then PostgreSQL), in interleaved rounds
of the same run (one burst of each per round, the order swapped every round so a drift
in the machine's load favours neither); the rate is updates handled per second from the
first push until every update is answered, and each burst's CPU is kept beside it
(:mod:`bench.durable_stats`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_bot_api import TOKEN, FakeBotAPI  # noqa: E402

from bench.durable_stats import Burst, Rounds, local_database, measured  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config.model import WarmlineConfig  # noqa: E402
from storage.members import insert_for  # noqa: E402

PEER = MetaData()
PEER_MEMBERS = Table(
    "peer_members",
    PEER,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(32), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("display_name", String(256), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("platform", "user_id", name="uq_peer_members"),
)
PEER_UPDATES = Table(
    "peer_updates",
    PEER,
    Column("update_id", String(64), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
)


def starts(api: FakeBotAPI, count: int, first_user: int) -> list[dict[str, Any]]:
    return [
        api.updates.command(api.updates.user(first_user + n, f"Member{n}"), "start")
        for n in range(count)
    ]


async def answered(api: FakeBotAPI, chats: set[int], timeout: float = 600.0) -> None:
    """Wait until every chat in ``chats`` got at least one message. Each look reads
    only the calls made since the last one: rescanning them all every 10 ms cost the
    contender being measured more CPU the longer its burst ran."""
    deadline = time.monotonic() + timeout
    waiting = set(chats)
    seen = 0
    while True:
        calls = api.calls
        for call in calls[seen:]:
            if call.method == "sendMessage" and call.status == 200:
                waiting.discard(int(call.params["chat_id"]))
        seen = len(calls)
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(waiting)} members never answered")
        await asyncio.sleep(0.01)


async def warmline_rate(database_url: str, count: int, concurrency: int) -> Burst:
    api = FakeBotAPI()
    await api.start()
    config = WarmlineConfig.model_validate(
        {
            "bot": {
                "platform": "telegram",
                "max_concurrent_updates": concurrency,
                "telegram": {
                    "token": TOKEN,
                    "library": "aiogram",
                    "api_base": api.url,
                    "poll_timeout": "1s",
                    "webhook": {"listen": "127.0.0.1:0"},
                },
            },
            "storage": {"database_url": database_url},
            "push": {"quiet_hours": None},
        }
    )
    app = App(config)
    if app.database.dialect != "sqlite":
        await app.database.migrate()
    await app.start()
    try:
        await _run_burst(api, count, 1_000_000, warm=True)
        return await _run_burst(api, count, 2_000_000, database_url)
    finally:
        await app.stop()
        await api.close()


async def peer_rate(database_url: str, count: int, concurrency: int) -> Burst:
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.filters import CommandStart
    from aiogram.types import Message, Update

    api = FakeBotAPI()
    await api.start()
    engine = create_async_engine(database_url)
    if engine.dialect.name == "sqlite":  # the same settings Warmline's SQLite gets
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    async with engine.begin() as conn:
        await conn.run_sync(PEER.create_all)
    dialect = engine.dialect.name
    slots = asyncio.Semaphore(concurrency)
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.url))
    bot = Bot(TOKEN, session=session)
    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart())
    async def start(message: Message, event_update: Update) -> None:
        async with slots:
            user = message.from_user
            assert user is not None
            now = datetime.now(UTC)
            upsert = insert_for(dialect, PEER_MEMBERS).values(
                platform="telegram",
                user_id=str(user.id),
                display_name=user.full_name,
                last_seen_at=now,
            )
            upsert = upsert.on_conflict_do_update(
                index_elements=["platform", "user_id"],
                set_={"display_name": upsert.excluded.display_name, "last_seen_at": now},
            )
            record = insert_for(dialect, PEER_UPDATES).values(
                update_id=str(event_update.update_id), at=now
            )
            for attempt in range(10):  # a durable bot retries "database is locked"
                try:
                    async with engine.begin() as conn:
                        await conn.execute(upsert)
                        await conn.execute(
                            record.on_conflict_do_nothing(index_elements=["update_id"])
                        )
                    break
                except OperationalError:
                    if attempt == 9:
                        raise
                    await asyncio.sleep(0.05 * 2**attempt)
            await message.answer(f"Welcome, {user.first_name}!")

    polling = asyncio.create_task(
        dispatcher.start_polling(
            bot, handle_signals=False, polling_timeout=1, close_bot_session=False
        )
    )
    try:
        await _run_burst(api, count, 1_000_000, warm=True)
        return await _run_burst(api, count, 2_000_000, database_url)
    finally:
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        await session.close()
        await engine.dispose()
        await api.close()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


async def _run_burst(
    api: FakeBotAPI,
    count: int,
    first_user: int,
    database_url: str | None = None,
    warm: bool = False,
) -> Burst:
    size = min(count, 200) if warm else count
    updates = starts(api, size, first_user)
    async with measured(local_database(database_url), size) as burst:
        api.push(*updates)
        await answered(api, {first_user + n for n in range(size)})
    return burst[0]


async def reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


async def compare(
    tmp: Path, pg_url: str | None, count: int, concurrency: int, rounds: int
) -> list[Rounds]:
    """Every burst of both contenders per database, ``rounds`` interleaved rounds each:
    warmline then peer, peer then warmline, and so on."""
    logging.disable(logging.WARNING)
    targets = [("SQLite", None)] + ([("PostgreSQL", pg_url)] if pg_url else [])
    out = []
    for name, url in targets:
        bursts: dict[str, list[Burst]] = {"warmline": [], "peer": []}
        for round_number in range(rounds):
            order = ("warmline", "peer") if round_number % 2 == 0 else ("peer", "warmline")
            for contender in order:
                if url is None:
                    db = f"sqlite+aiosqlite:///{tmp / f'{contender}-{round_number}.db'}"
                else:
                    await reset_postgres(url)
                    db = url
                rate = warmline_rate if contender == "warmline" else peer_rate
                bursts[contender].append(await rate(db, count, concurrency))
        out.append(Rounds(name, bursts["warmline"], bursts["peer"]))
    return out
