"""Exact under concurrency: many workers race for the same members' last slots."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest
from services import PG_URL, fresh_redis, reset_postgres

from bot.schema import with_feature_tables
from push.backends import GateBackend, RedisBackend, SqlBackend
from push.rules import Ask, Limits
from storage.database import Database

LIMITS = Limits(day=3, week=5, category_day=2, category_week=None, gap=0)
T0 = 1_767_600_000.0
WORKERS = 8


def asks_of(worker: int, members: int) -> list[Ask]:
    """Each worker offers every member one message: 8 messages race for 3 daily slots,
    of which at most 2 may be ``value`` (even workers send value, odd ones offers)."""
    category = "value" if worker % 2 == 0 else "offer"
    order = range(1, members + 1) if worker % 2 == 0 else range(members, 0, -1)
    return [
        Ask(member, f"w{worker}-m{member}", category, 0, 1, T0 + worker * 0.001, False, LIMITS)
        for member in order
    ]


async def _race(backend: GateBackend, worker: int, members: int) -> list[tuple[int, str]]:
    sent = []
    for ask in asks_of(worker, members):
        if (await backend.admit(ask)).sent:
            sent.append((ask.member_id, ask.category))
    return sent


def assert_within_caps(sent: list[tuple[int, str]], members: int) -> None:
    per_member: dict[int, list[str]] = {}
    for member, category in sent:
        per_member.setdefault(member, []).append(category)
    over = {m: c for m, c in per_member.items() if len(c) > 3 or c.count("value") > 2}
    assert not over, f"over-cap sends: {list(over.items())[:5]}"
    # and the caps were used in full: nobody was refused a slot that was free
    assert len(per_member) == members and all(len(c) == 3 for c in per_member.values())


async def test_eight_workers_thousand_members_zero_over_cap_on_redis() -> None:
    """Eight workers, each with its own connection pool, as eight processes would be:
    atomicity comes from the Lua script on the server, not from anything client-side."""
    members = 1000
    clients = [await fresh_redis() for _ in range(WORKERS)]
    try:
        results = await asyncio.gather(
            *(_race(RedisBackend(clients[w]), w, members) for w in range(WORKERS))
        )
    finally:
        await clients[0].flushdb()
        for client in clients:
            await client.aclose()
    assert_within_caps([pair for result in results for pair in result], members)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_eight_tasks_zero_over_cap_on_sql(kind: str, tmp_path: Path) -> None:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
    else:
        await reset_postgres(PG_URL)
        url = PG_URL
    db = with_feature_tables(Database(url))
    await db.migrate()
    try:
        members = 25
        backends = [SqlBackend(db)] if kind == "sqlite" else [SqlBackend(db) for _ in range(8)]
        results = await asyncio.gather(
            *(_race(backends[w % len(backends)], w, members) for w in range(WORKERS))
        )
    finally:
        await db.close()
    assert_within_caps([pair for result in results for pair in result], members)


async def test_three_workers_pacing_through_redis_keep_one_rate_together() -> None:
    """Three workers' pacers, each with its own Redis connection, as three processes
    would be: their sends together stay within ``per_second`` (and per chat)."""
    from bot.events import ChatRef
    from push.config import PacingConfig
    from push.pacing import SharedPacer

    rate, per_worker = 20.0, 12
    clients = [await fresh_redis() for _ in range(3)]
    pacers = [SharedPacer(c, PacingConfig(per_second=rate)) for c in clients]
    stamps: list[float] = []

    async def send(pacer: SharedPacer, chat: str) -> None:
        await pacer.wait(ChatRef("telegram", chat))
        stamps.append(time.monotonic())

    try:
        start = time.monotonic()
        await asyncio.gather(
            *(send(p, f"{w}-{n}") for w, p in enumerate(pacers) for n in range(per_worker)),
            *(send(pacers[n % 3], "same-chat") for n in range(3)),
        )
    finally:
        await clients[0].flushdb()
        for client in clients:
            await client.aclose()
    stamps.sort()
    total = 3 * per_worker + 3
    # n sends at most `rate` a second apart need (n - 1) / rate seconds, whoever sends
    assert stamps[-1] - start >= (total - 1) / rate - 0.05
    # one chat: one message a second (per_chat_per_second 1), across workers too
    assert stamps[-1] - start >= 2.0 - 0.05


def sliding_peak(stamps: list[float], window: float = 1.0) -> int:
    """The most stamps in any window of ``window`` seconds (half-open)."""
    ordered = sorted(stamps)
    peak = start = 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - window:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


async def test_pacers_that_wake_late_still_hold_the_rate_in_every_sliding_second() -> None:
    """Five workers' pacers on one Redis whose sleeps overrun at random (a starved
    host): their slots bunch up, and the sliding-window admission still lets no
    more than ``per_second`` through in any one second."""
    from bot.events import ChatRef
    from push.config import PacingConfig
    from push.pacing import SharedPacer

    rate, per_worker = 8.0, 8
    rng = random.Random(7)

    async def oversleep(seconds: float) -> None:
        await asyncio.sleep(seconds + rng.choice((0.0, 0.0, 0.06, 0.09)))

    clients = [await fresh_redis() for _ in range(5)]
    pacers = [SharedPacer(c, PacingConfig(per_second=rate), sleep=oversleep) for c in clients]
    stamps: list[float] = []

    async def send(pacer: SharedPacer, chat: str) -> None:
        await pacer.wait(ChatRef("telegram", chat))
        stamps.append(time.monotonic())

    try:
        await asyncio.gather(
            *(send(p, f"{w}-{n}") for w, p in enumerate(pacers) for n in range(per_worker))
        )
    finally:
        await clients[0].flushdb()
        for client in clients:
            await client.aclose()
    assert len(stamps) == 5 * per_worker
    assert sliding_peak(stamps) <= rate, f"{sliding_peak(stamps)} sends in one second"
