"""In-process dispatch throughput: Warmline's core next to bare aiogram and PTB.

Each contender turns the same raw Telegram update dicts into a call of a
trivial message handler, one update at a time, no network:

* warmline: ``adapter.parse(raw)`` (aiogram and PTB adapters, constructed but
  not started) → ``Dispatcher.feed`` (error isolation, logging, dedupe, and
  optionally the SQLite-backed member middleware) → handler;
* aiogram: ``Dispatcher.feed_raw_update`` with one message handler;
* ptb: ``Update.de_json`` + ``Application.process_update`` with one MessageHandler.

Run: ``python bench/dispatch.py`` (``--updates N`` to change the sample size).
The target is ratio ≥ 0.7 against the faster peer with the member middleware off.

``--durable`` adds the end-to-end ``/start`` comparison of :mod:`bench.durable`:
Warmline as ``warmline run`` builds it against a durable aiogram + SQLAlchemy peer,
both polling the fake Bot API, on SQLite and (``--pg-url``, default
``$WARMLINE_TEST_PG_URL``) PostgreSQL; the target there is ratio ≥ 0.7 on both.
After the best-of table it prints, per database, each interleaved round's ratio and
their median, and the median CPU per update of each side (the bench process, and the
PostgreSQL backends when the server runs on this machine): ``--durable-rounds`` rounds,
by default ``--rounds`` when given, else 5.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.adapters.aiogram_adapter import AiogramAdapter
from bot.adapters.ptb_adapter import PtbAdapter
from bot.adapters.telegram_base import TelegramAdapter
from bot.adapters.telegram_platform import TelegramConfig
from bot.app import App
from bot.config.model import WarmlineConfig
from bot.context import Context
from bot.middlewares import default_middlewares
from bot.router import Router
from bot.schema import ensure_schema
from storage.dedupe import MemoryLedger

TOKEN = "123456:BENCH"
USERS = 200

Step = Callable[[dict[str, Any]], Awaitable[object]]


def raw_updates(count: int, first_id: int = 1) -> list[dict[str, Any]]:
    """Private text messages from ``USERS`` members, like a busy shop bot's DMs."""
    updates = []
    for number in range(count):
        user_id = 1000 + number % USERS
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": f"Member{user_id}",
            "language_code": "en",
        }
        message = {
            "message_id": number + 1,
            "date": 1_764_000_000 + number,
            "chat": {"id": user_id, "type": "private", "first_name": user["first_name"]},
            "from": user,
            "text": "do you ship oolong to Berlin?",
        }
        updates.append({"update_id": first_id + number, "message": message})
    return updates


async def measure(step: Step, count: int, rounds: int) -> float:
    """Best updates/s over ``rounds`` runs of ``count`` fresh updates."""
    await drive(step, raw_updates(min(500, count), first_id=10_000_000))  # warm-up
    best = 0.0
    for round_number in range(rounds):
        updates = raw_updates(count, first_id=(round_number + 1) * 1_000_000)
        started = time.perf_counter()
        await drive(step, updates)
        best = max(best, count / (time.perf_counter() - started))
    return best


async def drive(step: Step, updates: list[dict[str, Any]]) -> None:
    for raw in updates:
        await step(raw)


# -- contenders ----------------------------------------------------------------------
def trivial_router(seen: list[int]) -> Router:
    router = Router("bench")

    @router.message()
    async def handle(ctx: Context) -> None:
        seen[0] += 1

    return router


async def warmline_step(
    adapter_type: type[TelegramAdapter], db_path: Path, with_members: bool, memory_ledger: bool
) -> tuple[Step, App]:
    config = WarmlineConfig.model_validate(
        {
            "bot": {"platform": "telegram", "telegram": {"token": TOKEN}},
            "storage": {"database_url": f"sqlite+aiosqlite:///{db_path}"},
        }
    )
    adapter = adapter_type(TelegramConfig(token=TOKEN))
    adapter.converter.username = "bench_bot"
    seen = [0]
    app = App(
        config,
        adapter=adapter,
        routers=[trivial_router(seen)],
        middlewares=default_middlewares(with_members=with_members),
        install_features=False,
    )
    if memory_ledger:
        app.services.ledger = MemoryLedger()
    await ensure_schema(app.database)
    app.dispatcher.freeze()
    parse = adapter.parse
    feed = app.dispatcher.feed

    async def step(raw: dict[str, Any]) -> object:
        event = parse(raw)
        assert event is not None
        return await feed(event)

    return step, app


async def aiogram_step() -> Step:
    from aiogram import Bot, Dispatcher
    from aiogram.types import Message

    bot = Bot(TOKEN)
    dispatcher = Dispatcher()
    seen = [0]

    @dispatcher.message()
    async def handle(message: Message) -> None:
        seen[0] += 1

    async def step(raw: dict[str, Any]) -> object:
        return await dispatcher.feed_raw_update(bot, raw)

    return step


async def ptb_step() -> Step:
    import json

    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters
    from telegram.request import BaseRequest

    class OfflineRequest(BaseRequest):
        """Answers getMe (all ``Application.initialize`` asks) without a network."""

        me = {"id": 123456, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}

        @property
        def read_timeout(self) -> float | None:
            return None

        async def initialize(self) -> None:
            return None

        async def shutdown(self) -> None:
            return None

        async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
            return 200, json.dumps({"ok": True, "result": self.me}).encode()

    application = (
        Application.builder()
        .token(TOKEN)
        .request(OfflineRequest())
        .get_updates_request(OfflineRequest())
        .updater(None)
        .build()
    )
    await application.initialize()
    seen = [0]

    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen[0] += 1

    application.add_handler(MessageHandler(filters.ALL, handle))
    bot = application.bot

    async def step(raw: dict[str, Any]) -> object:
        return await application.process_update(Update.de_json(raw, bot))

    return step


# -- report --------------------------------------------------------------------------
async def main(count: int, sqlite_count: int, rounds: int) -> None:
    logging.disable(logging.WARNING)
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        peers = {
            "aiogram Dispatcher.feed_raw_update": await measure(
                await aiogram_step(), count, rounds
            ),
            "ptb Update.de_json + process_update": await measure(await ptb_step(), count, rounds),
        }
        variants = [
            ("members off, MemoryLedger", False, True, count),
            ("members on (SQLite), MemoryLedger", True, True, sqlite_count),
            ("members on, SqlLedger (embedded default)", True, False, sqlite_count),
        ]
        for label, with_members, memory_ledger, n in variants:
            for adapter_type, name in ((AiogramAdapter, "aiogram"), (PtbAdapter, "ptb")):
                db = Path(tmp) / f"{name}-{with_members}-{memory_ledger}.db"
                step, app = await warmline_step(adapter_type, db, with_members, memory_ledger)
                try:
                    rows.append(
                        (f"warmline ({name} parse), {label}", await measure(step, n, rounds))
                    )
                finally:
                    await app.database.close()
    faster = max(peers.values())
    faster_name = max(peers, key=lambda name: peers[name])
    width = max(len(name) for name in [*peers, *(label for label, _ in rows)])
    print(f"{count} updates per round ({sqlite_count} with SQLite), best of {rounds} rounds")
    print(f"{'contender':<{width}}  {'updates/s':>10}  ratio vs {faster_name.split()[0]}")
    for name, rate in [*peers.items(), *rows]:
        print(f"{name:<{width}}  {rate:>10,.0f}  {rate / faster:>5.2f}")


async def durable_main(pg_url: str | None, count: int, concurrency: int, rounds: int) -> None:
    from bench.durable import compare

    with tempfile.TemporaryDirectory() as tmp:
        rows = await compare(Path(tmp), pg_url, count, concurrency, rounds)
    print(
        f"\nend-to-end /start, {count} members polling the fake Bot API, "
        f"{concurrency} at once, best of {rounds}"
    )
    print(f"{'database':<12}{'warmline/s':>12}{'peer/s':>10}  ratio (durable aiogram+SQLAlchemy)")
    for row in rows:
        warmline, peer = row.best
        print(f"{row.database:<12}{warmline:>12,.0f}{peer:>10,.0f}  {warmline / peer:>5.2f}")
    if not pg_url:
        print(f"{'PostgreSQL':<12}{'not run':>12}: give --pg-url or set WARMLINE_TEST_PG_URL")
    print(f"\n{rounds} interleaved rounds per database (the order swapped each round):")
    for row in rows:
        for line in row.summary():
            print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--sqlite-updates", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--durable-rounds",
        type=int,
        help="interleaved rounds of the /start comparison (default: --rounds if given, else 5)",
    )
    parser.add_argument(
        "--durable", action="store_true", help="end-to-end /start vs a durable peer"
    )
    parser.add_argument("--durable-only", action="store_true")
    parser.add_argument("--durable-updates", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--pg-url", default=os.environ.get("WARMLINE_TEST_PG_URL"))
    args = parser.parse_args()
    given_rounds = any(arg == "--rounds" or arg.startswith("--rounds=") for arg in sys.argv[1:])
    durable_rounds = args.durable_rounds or (args.rounds if given_rounds else 5)
    if not args.durable_only:
        asyncio.run(main(args.updates, args.sqlite_updates, args.rounds))
    if args.durable or args.durable_only:
        asyncio.run(
            durable_main(args.pg_url, args.durable_updates, args.concurrency, durable_rounds)
        )
