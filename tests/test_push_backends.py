"""One contract, every backend: memory, SQLite, PostgreSQL and Redis give the same verdicts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from services import PG_URL, fresh_redis, reset_postgres

from bot.schema import with_feature_tables
from push.backends import GateBackend, MemoryBackend, RedisBackend, SqlBackend
from push.contract import Outcome
from push.rules import DAY, WEEK, Ask, Limits, Reason, Waiting
from push.store import PendingMessage, PendingStore
from storage.database import Database

T0 = 1_767_600_000.0  # 2026-01-05 08:00 UTC
NO_GAP = Limits(day=2, week=5, category_day=None, category_week=None, gap=0)


@pytest.fixture(params=["memory", "sqlite", "postgresql", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[GateBackend]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    if request.param == "redis":
        client = await fresh_redis()
        try:
            yield RedisBackend(client)
        finally:
            await client.flushdb()
            await client.aclose()
        return
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'gate.db'}"
    else:
        await reset_postgres(PG_URL)
        url = PG_URL
    db = with_feature_tables(Database(url))
    await db.migrate()
    try:
        yield SqlBackend(db)
    finally:
        await db.close()


async def hold(backend: GateBackend, member: int, waiting: Waiting) -> None:
    """The SQL backend's waiting line is the gate's ``push_pending`` table itself."""
    if isinstance(backend, SqlBackend):
        await PendingStore(backend.db).put(
            PendingMessage(
                member,
                waiting.key,
                "offer",
                waiting.priority,
                waiting.seq,
                datetime.fromtimestamp(waiting.due, UTC),
                None,
                "text",
                [],
                None,
            )
        )
    await backend.hold(member, waiting)


async def unhold(backend: GateBackend, member: int, key: str) -> None:
    if isinstance(backend, SqlBackend):
        await PendingStore(backend.db).remove(member, key)
    await backend.unhold(member, key)


def ask(
    key: str,
    at: float,
    *,
    member: int = 1,
    category: str = "value",
    priority: int = 0,
    limits: Limits = NO_GAP,
    bypass: bool = False,
) -> Ask:
    return Ask(member, key, category, priority, int(at * 1000), at, bypass, limits)


async def test_daily_cap_defers_to_when_the_oldest_send_leaves_the_window(
    backend: GateBackend,
) -> None:
    assert (await backend.admit(ask("a", T0))).outcome is Outcome.SENT
    assert (await backend.admit(ask("b", T0 + 3600))).outcome is Outcome.SENT
    third = await backend.admit(ask("c", T0 + 7200))
    assert third.outcome is Outcome.DEFERRED and third.reason == Reason.DAILY_CAP
    assert third.until == pytest.approx(T0 + DAY)
    assert (await backend.admit(ask("c", T0 + DAY + 1))).outcome is Outcome.SENT


async def test_weekly_cap_and_other_members_are_independent(backend: GateBackend) -> None:
    for day in range(5):
        assert (await backend.admit(ask(f"m{day}", T0 + day * DAY))).outcome is Outcome.SENT
    capped = await backend.admit(ask("m5", T0 + 5 * DAY))
    assert capped.reason == Reason.WEEKLY_CAP and capped.until == pytest.approx(T0 + WEEK)
    assert (await backend.admit(ask("m5", T0 + 5 * DAY, member=2))).outcome is Outcome.SENT


async def test_category_caps_and_disabled_category(backend: GateBackend) -> None:
    limits = Limits(day=5, week=None, category_day=1, category_week=None, gap=0)
    assert (await backend.admit(ask("o1", T0, category="offer", limits=limits))).sent
    second = await backend.admit(ask("o2", T0 + 60, category="offer", limits=limits))
    assert second.reason == Reason.CATEGORY_DAILY_CAP
    assert (await backend.admit(ask("v1", T0 + 60, limits=limits))).outcome is Outcome.SENT
    off = Limits(day=5, week=None, category_day=None, category_week=0, gap=0)
    dropped = await backend.admit(ask("g1", T0, category="greeting", limits=off))
    assert dropped.outcome is Outcome.DROPPED and dropped.reason == Reason.DISABLED


async def test_min_gap(backend: GateBackend) -> None:
    limits = Limits(day=None, week=None, category_day=None, category_week=None, gap=4 * 3600)
    assert (await backend.admit(ask("a", T0, limits=limits))).sent
    second = await backend.admit(ask("b", T0 + 600, limits=limits))
    assert second.reason == Reason.MIN_GAP and second.until == pytest.approx(T0 + 4 * 3600)


async def test_duplicate_key_and_release(backend: GateBackend) -> None:
    assert (await backend.admit(ask("k", T0))).sent
    again = await backend.admit(ask("k", T0 + 60))
    assert again.outcome is Outcome.DROPPED and again.reason == Reason.DUPLICATE
    await backend.release(1, "k")
    assert (await backend.admit(ask("k", T0 + 120))).sent


async def test_transactional_bypasses_caps_without_counting(backend: GateBackend) -> None:
    limits = Limits(day=1, week=None, category_day=None, category_week=None, gap=3600)
    assert (await backend.admit(ask("p", T0, limits=limits))).sent
    for n in range(3):
        order = ask(f"t{n}", T0 + n, category="transactional", limits=limits, bypass=True)
        assert (await backend.admit(order)).sent
    # the promotional slot is still governed by the one promotional send
    assert (await backend.admit(ask("q", T0 + 10, limits=limits))).until == pytest.approx(T0 + DAY)


async def test_kill_switch_stops_everything(backend: GateBackend) -> None:
    await backend.set_paused(True, "admin")
    assert await backend.is_paused()
    promo = await backend.admit(ask("a", T0))
    order = await backend.admit(ask("b", T0, bypass=True, category="transactional"))
    group = await backend.admit_group("local:-1", "g", T0, 3)
    assert {promo.reason, order.reason, group.reason} == {Reason.PAUSED}
    await backend.set_paused(False, "admin")
    assert (await backend.admit(ask("a", T0))).sent


async def test_waiting_line_higher_priority_first(backend: GateBackend) -> None:
    await hold(backend, 1, Waiting("offer", T0 - 1, priority=5, seq=int((T0 - 100) * 1000)))
    low = await backend.admit(ask("value", T0, priority=1))
    assert low.outcome is Outcome.DEFERRED and low.reason == Reason.QUEUED
    assert (await backend.admit(ask("urgent", T0, priority=9))).sent
    # not due yet: a waiting message does not block
    await unhold(backend, 1, "offer")
    await hold(backend, 1, Waiting("later", T0 + 3600, priority=5, seq=1))
    assert (await backend.admit(ask("value", T0 + 1, priority=1, member=1))).sent


async def test_plan_reserves_nothing(backend: GateBackend) -> None:
    await backend.admit(ask("earlier", T0 - 60, member=3))
    verdicts = await backend.plan(ask("c", T0), [1, 2, 3, 4, 5])
    assert [v.outcome for v in verdicts] == [Outcome.SENT] * 5
    await backend.admit(ask("more", T0 - 30, member=3))
    planned = await backend.plan(ask("c", T0), [1, 2, 3])
    assert [v.reason for v in planned] == [None, None, Reason.DAILY_CAP]
    assert all([(await backend.admit(ask("c", T0, member=m))).sent for m in (1, 2, 4, 5)])
    again = await backend.plan(ask("c", T0), [1, 2, 4, 5])
    assert all(v.reason == Reason.DUPLICATE for v in again)


async def test_group_cap_rolls_over_a_day(backend: GateBackend) -> None:
    for n in range(3):
        assert (await backend.admit_group("local:-1", f"p{n}", T0 + n, 3)).sent
    capped = await backend.admit_group("local:-1", "p3", T0 + 10, 3)
    assert capped.reason == Reason.GROUP_CAP and capped.until == pytest.approx(T0 + DAY)
    assert (await backend.admit_group("local:-2", "p3", T0 + 10, 3)).sent
    assert (await backend.admit_group("local:-1", "p3", T0 + DAY + 1, 3)).sent


async def test_memory_counts_a_released_or_resent_key_once() -> None:
    """The in-memory backend keeps its counting sends sorted beside the keys: a released
    send stops counting, and a key sent again after its TTL counts once, not twice."""
    backend = MemoryBackend(key_ttl=3600)
    assert (await backend.admit(ask("a", T0))).sent
    assert (await backend.admit(ask("b", T0 + 60))).sent
    await backend.release(1, "b")
    assert (await backend.admit(ask("c", T0 + 120))).sent
    assert (await backend.admit(ask("k", T0, member=2))).sent
    assert (await backend.admit(ask("k", T0 + 7200, member=2))).sent  # its TTL is over
    assert (await backend.admit(ask("x", T0 + 3 * 3600, member=2))).sent
    capped = await backend.admit(ask("y", T0 + 4 * 3600, member=2))
    assert capped.reason == Reason.DAILY_CAP and capped.until == pytest.approx(T0 + 7200 + DAY)
