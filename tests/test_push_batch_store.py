"""The queue of window-refused pushes and the per-member mass count, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from push.batch_store import MASS, QUEUED, WAITING, Batched, BatchStore, mass_counts
from storage.database import Database
from storage.push_tables import PushOutbox

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def item(member_id: int, key: str, priority: int = 0, seq: int = 1, hours: int = 8) -> Batched:
    return Batched(
        member_id, key, "value", priority, seq, f"text {key}", NOW + timedelta(hours=hours), None
    )


async def test_due_messages_come_by_member_best_first(db: Database) -> None:
    store = BatchStore(db)
    for queued in (
        item(2, "b"),
        item(1, "late", seq=5),
        item(1, "first", priority=1, seq=9),
        item(1, "tomorrow", hours=30),
        item(1, "early", seq=5),
    ):
        await store.put(queued, NOW)
    due = await store.due(NOW + timedelta(hours=8))
    assert [(d.member_id, d.key) for d in due] == [
        (1, "first"),
        (1, "early"),
        (1, "late"),
        (2, "b"),
    ]
    assert await store.next_due() == NOW + timedelta(hours=8)


async def test_a_dropped_message_queued_again_starts_over(db: Database) -> None:
    store = BatchStore(db)
    await store.put(item(1, "k"), NOW)
    await store.mark(1, "k", WAITING, MASS, NOW, task="push-1")
    assert [w.task for w in await store.waiting()] == ["push-1"]
    await store.mark(1, "k", "dropped", "platform_cap", NOW)
    later = NOW + timedelta(days=1)
    await store.put(item(1, "k", hours=30), later)
    again = await store.get(1, "k")
    assert again is not None
    assert (again.state, again.reason, again.task, again.due_at) == (
        QUEUED,
        None,
        None,
        NOW + timedelta(hours=30),
    )


async def test_mass_counts_cover_broadcasts_and_batches_within_the_period(db: Database) -> None:
    store = BatchStore(db)
    for key, state in (("sent", "sent"), ("task", WAITING), ("capped", "dropped")):
        await store.put(item(1, key), NOW)
        await store.mark(1, key, state, MASS, NOW)
    await store.put(item(2, "old"), NOW)
    await store.mark(2, "old", "sent", MASS, NOW - timedelta(days=2))
    rows = [
        {"campaign_id": "c1", "member_id": 2, "state": "sent", "reason": MASS, "updated_at": NOW},
        {"campaign_id": "c2", "member_id": 2, "state": WAITING, "reason": MASS, "updated_at": NOW},
        {"campaign_id": "c3", "member_id": 3, "state": "sent", "reason": None, "updated_at": NOW},
    ]
    async with db.transaction() as conn:
        await conn.execute(insert(PushOutbox), rows)
    counts = await mass_counts(db, [1, 2, 3], timedelta(days=1), NOW + timedelta(hours=1))
    assert counts == {1: 2, 2: 2}
