"""The gate's waiting line (``push_pending``): what falls due is read through the
``due_at`` index, and comes back by member, then in arbitration order."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.dialects import sqlite

from bot.schema import with_feature_tables
from push.store import DUE_ALL, PendingMessage, PendingStore
from storage.database import Database

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def message(member: int, key: str, priority: int, seq: int, due: timedelta) -> PendingMessage:
    return PendingMessage(member, key, "offer", priority, seq, NOW + due, None, key, (), None)


async def test_due_messages_come_by_member_then_priority_then_first_come(
    database_url: str,
) -> None:
    db = with_feature_tables(Database(database_url))
    await db.migrate()
    store = PendingStore(db)
    try:
        for waiting in [
            message(7, "late", 9, 1, timedelta(minutes=5)),  # not due yet
            message(7, "low", 0, 2, -timedelta(hours=1)),
            message(3, "second", 1, 20, -timedelta(minutes=1)),
            message(7, "high", 5, 3, timedelta(0)),
            message(3, "first", 1, 10, -timedelta(days=1)),
            message(3, "urgent", 4, 30, -timedelta(seconds=1)),
            message(12, "only", 0, 1, -timedelta(hours=2)),
        ]:
            await store.put(waiting)
        due = [(m.member_id, m.key) for m in await store.due_all(NOW)]
        assert due == [
            (3, "urgent"),
            (3, "first"),
            (3, "second"),
            (7, "high"),
            (7, "low"),
            (12, "only"),
        ]
        assert [m.key for m in await store.due(7, NOW)] == ["high", "low"]
    finally:
        await db.close()


async def test_sqlite_searches_the_due_at_index(tmp_path: Path) -> None:
    """Not a scan of the whole table in primary-key order (what an ORDER BY member_id
    made SQLite choose): the line can hold many members' deferred messages."""
    path = tmp_path / "w.db"
    db = with_feature_tables(Database(f"sqlite+aiosqlite:///{path}"))
    await db.migrate()
    await db.close()
    sql = str(DUE_ALL.compile(dialect=sqlite.dialect()))
    with sqlite3.connect(path) as conn:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", (NOW.isoformat(),))]
    assert plan == ["SEARCH push_pending USING INDEX ix_push_pending_due_at (due_at<?)"]
