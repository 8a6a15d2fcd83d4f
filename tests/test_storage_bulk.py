"""Batched writes handed to the driver as tuples (storage.bulk) store what the
statement would have stored, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.events import UserRef
from bot.schema import with_feature_tables
from flows.state import ENGINE_FIELDS, JourneyStore
from flows.timers import NewTimer, TimerStore
from push.store import DecisionLog, DecisionRow
from storage.bulk import Bulk
from storage.database import Database, UnitOfWorkFailed
from storage.flow_tables import FlowTimer, MemberTag
from storage.members import SqlMemberRepository
from storage.prepared import sqlite_driver
from storage.push_tables import PushDecision

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _member(db: Database, user_id: str) -> int:
    return (await SqlMemberRepository(db).touch(UserRef("telegram", user_id, "Ann"), NOW)).id


async def test_decisions_are_stored_as_given(db: Database) -> None:
    member = await _member(db, "1")
    rows = [
        DecisionRow(NOW, member, None, "k" * 200, None, "value", 0, "sent", None, None, "hi"),
        DecisionRow(
            NOW + timedelta(seconds=1),
            None,
            "telegram:-100",
            "welcome",
            "c1",
            "greeting",
            3,
            "deferred",
            "quiet_hours",
            NOW + timedelta(hours=8),
            "x" * 300,
        ),
    ]
    log = DecisionLog(db)
    await log.write(rows)
    newest, oldest = await log.recent()
    assert oldest == DecisionRow(
        NOW, member, None, "k" * 160, None, "value", 0, "sent", None, None, "hi"
    )
    assert newest.until == NOW + timedelta(hours=8) and newest.until.tzinfo is not None
    assert (newest.chat_key, newest.campaign_id, newest.priority) == ("telegram:-100", "c1", 3)
    assert newest.text == "x" * 200


async def test_timers_scheduled_and_retried_keep_their_payload(db: Database) -> None:
    member = await _member(db, "2")
    timers = TimerStore(db)
    due = NOW + timedelta(days=1)
    new = NewTimer("f.v1:2:1:s", member, "f", "s", due, {"sku": "tea", "n": 2})
    assert await timers.schedule([new, new]) == []  # a stored key stays as it is
    (stored,) = await timers.pending(member)
    assert (stored.key, stored.due_at, stored.payload) == (new.key, due, new.payload)
    (claimed,) = await timers.claim_due(due, 10)
    later = due + timedelta(hours=2)
    await timers.retry_many([(claimed, later)])
    (retried,) = await timers.pending(member)
    assert retried.due_at == later and retried.planned == due
    assert retried.payload["sku"] == "tea"


async def test_journey_fields_written_back(db: Database) -> None:
    member = await _member(db, "3")
    journeys = JourneyStore(db)
    await journeys.open_many([(member, NOW, NOW + timedelta(days=1))])
    state = await journeys.get(member)
    assert state is not None
    state.seen.append("tip-1")
    state.pending = {"kind": "value", "item": "tip-2"}
    state.next_value_at = NOW + timedelta(days=3)
    state.trust = 12.5
    await journeys.save([state], ENGINE_FIELDS)
    again = await journeys.get(member)
    assert again is not None
    assert (again.seen, again.pending) == (["tip-1"], {"kind": "value", "item": "tip-2"})
    assert again.next_value_at == NOW + timedelta(days=3) and again.trust == 12.5


async def test_a_statement_needing_a_value_the_rows_lack_is_refused(db: Database) -> None:
    # push_decisions.priority has a Python-side default: SQLAlchemy would fill it in
    missing = Bulk(insert(PushDecision), ("at", "member_id", "message_key"))
    fixed = Bulk(
        update(FlowTimer).where(FlowTimer.id == bindparam("b_id")).values(fired=False),
        ("b_id",),
    )
    async with db.transaction() as conn:
        with pytest.raises(ValueError, match=r"binds \['priority'\]"):
            await missing.run(conn, [(NOW, None, "k")])
        await fixed.run(conn, [(1,)])  # a value the statement holds itself is fine


@pytest.mark.parametrize("stored_first", [False, True])
async def test_a_failing_row_raises_as_sqlalchemy_and_fails_the_unit(
    sqlite_url: str, stored_first: bool
) -> None:
    """On SQLite's own connection: a duplicate after a written row (some rows written)
    and one in the first row (nothing written: SQLAlchemy runs it again) both raise
    SQLAlchemy's error, and the unit of work does not commit."""
    db = with_feature_tables(Database(sqlite_url, only_user=True))
    await db.migrate()
    add = Bulk(insert(MemberTag), ("member_id", "tag", "at"))
    try:
        member = await _member(db, "1")
        if stored_first:
            async with db.transaction() as conn:
                await add.run(conn, [(member, "a", NOW)])
        rows = [(member, "a", NOW)] if stored_first else [(member, "b", NOW), (member, "b", NOW)]
        with pytest.raises(UnitOfWorkFailed):
            async with db.unit_of_work(), db.transaction() as conn:
                assert sqlite_driver(conn) is not None
                with pytest.raises(IntegrityError):
                    await add.run(conn, rows)
        async with db.reading() as conn:
            stored = (await conn.execute(select(MemberTag.tag))).scalars().all()
        assert stored == (["a"] if stored_first else [])
    finally:
        await db.close()
