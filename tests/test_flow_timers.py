"""Flow timers fire once, on SQLite and on the real PostgreSQL, and a claim looks up
the rows it picked instead of walking every timer not fired yet."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.dialects import sqlite

from bot.events import UserRef
from flows.timers import _CLAIM_DUE, _CLAIM_KEYS, NewTimer, TimerStore
from storage.database import Database
from storage.members import SqlMemberRepository

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _timers(db: Database) -> tuple[TimerStore, int]:
    member = await SqlMemberRepository(db).touch(UserRef("telegram", "1", "Ann"), NOW)
    store = TimerStore(db)
    await store.schedule(
        [
            NewTimer(f"f.v1:{member.id}:1:{step}", member.id, "f", step, NOW + offset, {})
            for step, offset in (
                ("past", -timedelta(hours=2)),
                ("now", timedelta(0)),
                ("later", timedelta(days=3)),
            )
        ]
    )
    return store, member.id


async def test_due_timers_are_claimed_once(db: Database) -> None:
    store, _ = await _timers(db)
    assert [t.step for t in await store.claim_due(NOW, 10)] == ["past", "now"]
    assert await store.claim_due(NOW, 10) == []
    assert [t.step for t in await store.claim_due(NOW + timedelta(days=3), 10)] == ["later"]


async def test_keys_are_claimed_only_when_due_and_not_fired(db: Database) -> None:
    store, member = await _timers(db)
    keys = [f"f.v1:{member}:1:{step}" for step in ("past", "later", "missing")]
    assert [t.step for t in await store.claim_keys(keys, NOW)] == ["past"]
    assert await store.claim_keys(keys, NOW) == []


def test_claims_look_up_the_picked_rows(tmp_path: Path) -> None:
    """SQLite plans a claim's "not fired" guard on the picked rows: on the
    (fired, due_at) index it would walk every future timer for each claim."""
    con = sqlite3.connect(tmp_path / "plan.db")
    con.execute(
        "CREATE TABLE flow_timers (id INTEGER PRIMARY KEY, key VARCHAR UNIQUE, member_id INT,"
        " flow VARCHAR, step VARCHAR, due_at DATETIME, fired BOOLEAN NOT NULL,"
        " fired_at DATETIME, payload JSON)"
    )
    con.execute("CREATE INDEX ix_flow_timers_pending ON flow_timers (fired, due_at)")
    for statement, expect in (
        (_CLAIM_DUE.statement, "INTEGER PRIMARY KEY"),
        (_CLAIM_KEYS.statement, "(key=?)"),
    ):
        sql = str(statement.compile(dialect=sqlite.dialect()))
        sql = sql.replace("(__[POSTCOMPILE_keys])", "(?)")  # one key for the plan
        plan = con.execute("EXPLAIN QUERY PLAN " + sql, [None] * sql.count("?")).fetchall()
        outer = plan[0][3]
        assert expect in outer, plan
