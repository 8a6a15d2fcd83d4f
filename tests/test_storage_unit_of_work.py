"""A unit of work: many small repository calls, one transaction (SQLite and PostgreSQL);
a database with one user: SQLite on the loop's thread and journeys kept in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.schema import with_feature_tables
from flows.state import JourneyStore
from storage.database import Database, UnitOfWorkFailed, refresh_at_commit
from storage.flow_tables import Journey
from storage.members import SqlMemberRepository
from storage.tables import Member

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def add_members(db: Database, count: int, prefix: str = "u") -> list[int]:
    rows = [
        {
            "platform": "local",
            "user_id": f"{prefix}{n}",
            "display_name": f"U{n}",
            "joined_at": NOW,
            "last_seen_at": NOW,
            "started_bot": True,
            "opted_out": False,
            "reachable": True,
        }
        for n in range(count)
    ]
    async with db.transaction() as conn:
        found = await conn.execute(insert(Member).returning(Member.id), rows)
        return sorted(found.scalars())


async def count_members(db: Database) -> int:
    async with db.engine.connect() as other:  # a connection of its own, outside any unit
        return int((await other.execute(select(func.count(Member.id)))).scalar_one())


async def test_calls_share_one_transaction_committed_at_the_end(db: Database) -> None:
    members = SqlMemberRepository(db)
    async with db.unit_of_work():
        ids = await add_members(db, 2)
        await members.update(ids[0], opted_out=True)  # a session joins the same transaction
        assert (await members.get_many(ids))[ids[0]].opted_out
        if db.dialect == "postgresql":  # SQLite would wait for the writer's lock instead
            assert await count_members(db) == 0
    assert await count_members(db) == 2
    assert (await members.get_by_id(ids[0])).opted_out  # type: ignore[union-attr]


async def test_an_error_rolls_the_whole_unit_back(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.unit_of_work():
            await add_members(db, 3)
            async with db.unit_of_work():  # nested: part of the outer unit
                await add_members(db, 1, prefix="v")
            raise RuntimeError("the simulated hour failed")
    assert await count_members(db) == 0


async def test_a_failed_statement_does_not_pass_for_committed(db: Database) -> None:
    members = SqlMemberRepository(db)
    ids = await add_members(db, 1)
    with pytest.raises(UnitOfWorkFailed):
        async with db.unit_of_work():
            await members.update(ids[0], opted_out=True)
            try:
                await add_members(db, 1)  # the same user again: a unique key fails
            except Exception:
                pass  # swallowed by the caller: the unit must still not commit
    assert not (await members.get_by_id(ids[0])).opted_out  # type: ignore[union-attr]
    async with db.unit_of_work():  # the next unit starts clean
        await members.update(ids[0], opted_out=True)
    assert (await members.get_by_id(ids[0])).opted_out  # type: ignore[union-attr]


async def test_refreshes_run_once_before_the_commit_with_every_id(db: Database) -> None:
    calls: list[list[int]] = []

    async def refresh(conn: AsyncConnection, ids: list[int]) -> None:
        calls.append(ids)
        seen = (await conn.execute(select(func.count(Member.id)))).scalar_one()
        assert seen == 3  # in the unit's transaction, after every change

    async with db.transaction() as conn:
        assert not refresh_at_commit(conn, refresh, [1])  # no unit: the caller refreshes
    async with db.unit_of_work():
        await add_members(db, 3)
        async with db.transaction() as conn:
            assert refresh_at_commit(conn, refresh, [3, 1])
            assert refresh_at_commit(conn, refresh, [2, 3])
        assert calls == []
    assert calls == [[1, 2, 3]]


async def test_only_user_sqlite_runs_inline_and_keeps_journeys(tmp_path: Path) -> None:
    db = with_feature_tables(Database(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}", only_user=True))
    await db.migrate()
    try:
        ids = await add_members(db, 2)
        journeys = JourneyStore(db)
        later = NOW + timedelta(days=1)
        async with db.unit_of_work():
            await journeys.open_many([(i, NOW, NOW) for i in ids])
            states = await journeys.get_many(ids)
            states[ids[0]].seen.append("tip-1")  # the caller's copy: not kept until saved
            assert (await journeys.get(ids[0])).seen == []  # type: ignore[union-attr]
            await journeys.bump({(ids[0], "messages"): 2}, NOW)
            states[ids[0]].next_value_at = later
            await journeys.save([states[ids[0]]], ("seen", "next_value_at"))
            kept = await journeys.get(ids[0])
            assert kept is not None and kept.messages == 2 and kept.seen == ["tip-1"]
            # the claim reads the table: a slot moved inside the unit is not claimed again
            claimed = await journeys.claim_cadence(NOW, timedelta(minutes=10), 100)
            assert claimed == [ids[1]]
        async with db.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(Journey.messages, Journey.seen, Journey.next_value_at).where(
                        Journey.member_id == ids[0]
                    )
                )
            ).one()
        assert (row.messages, row.seen, row.next_value_at) == (2, ["tip-1"], later)
    finally:
        await db.close()
