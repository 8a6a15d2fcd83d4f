"""One contract, every backend: SQLite and the real PostgreSQL (and Redis for the ledger)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from services import fresh_redis

from bot.events import ChatKind, ChatRef, UserRef
from bot.schema import with_feature_tables
from storage.database import Database
from storage.dedupe import MemoryLedger, RedisLedger, SqlLedger, UpdateLedger
from storage.members import SqlChatRepository, SqlInteractionLog, SqlMemberRepository

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_migrations_are_idempotent(db: Database) -> None:
    await db.migrate()  # second run: nothing to do, no error


async def test_member_is_created_once_and_refreshed(db: Database) -> None:
    members = SqlMemberRepository(db)
    first = await members.touch(UserRef("telegram", "42", "Ann", language_code="zh-hans"), NOW)
    later = NOW + timedelta(hours=3)
    second = await members.touch(UserRef("telegram", "42", "Ann L."), later)
    assert first.id == second.id
    assert second.display_name == "Ann L."
    assert second.joined_at == NOW and second.last_seen_at == later
    assert second.language == "zh"
    assert second.joined_at.tzinfo is not None
    assert await members.count() == 1


async def test_same_id_on_two_platforms_are_two_members(db: Database) -> None:
    members = SqlMemberRepository(db)
    a = await members.touch(UserRef("telegram", "7"), NOW)
    b = await members.touch(UserRef("local", "7"), NOW)
    assert a.id != b.id


async def test_admins_find_members_by_id_or_username(db: Database) -> None:
    members = SqlMemberRepository(db)
    ann = await members.touch(UserRef("telegram", "42", "Ann", "Ann_Tea"), NOW)
    await members.touch(UserRef("local", "43", "Bo", "ann_tea"), NOW)  # another platform
    for handle in ("42", "@42", "@ann_tea", "ANN_TEA", " @Ann_Tea "):
        found = await members.find("telegram", handle)
        assert found is not None and found.id == ann.id, handle
    assert await members.find("telegram", "@nobody") is None
    assert await members.find("telegram", "@") is None


async def test_source_first_wins_and_update(db: Database) -> None:
    members = SqlMemberRepository(db)
    member = await members.touch(UserRef("telegram", "1"), NOW)
    await members.set_source_once(member.id, "packagecard", None)
    await members.set_source_once(member.id, "ads", "REF1")
    updated = await members.update(member.id, time_zone="Asia/Shanghai", opted_out=True)
    assert updated.source == "packagecard" and updated.referrer_code == "REF1"
    assert updated.time_zone == "Asia/Shanghai" and updated.opted_out
    fetched = await members.get_by_id(member.id)
    assert fetched == updated
    assert await members.get("telegram", "nobody") is None


async def test_reachable_ids_page_in_order(db: Database) -> None:
    members = SqlMemberRepository(db)
    ids = []
    for n in range(5):
        record = await members.touch(UserRef("telegram", str(n)), NOW)
        await members.update(record.id, started_bot=True, reachable=n != 2)
        ids.append(record.id)
    first = await members.reachable_ids(limit=2)
    rest = await members.reachable_ids(after_id=first[-1], limit=10)
    assert first + rest == [i for n, i in enumerate(ids) if n != 2]


async def test_get_many_returns_records_by_id(db: Database) -> None:
    members = SqlMemberRepository(db)
    records = [await members.touch(UserRef("telegram", str(n), f"M{n}"), NOW) for n in range(3)]
    wanted = [records[0].id, records[2].id, 10_000]
    assert await members.get_many(wanted) == {r.id: r for r in (records[0], records[2])}


async def test_chat_membership_and_interactions(db: Database) -> None:
    members, chats, log = SqlMemberRepository(db), SqlChatRepository(db), SqlInteractionLog(db)
    member = await members.touch(UserRef("telegram", "5"), NOW)
    group = ChatRef("telegram", "-1001", ChatKind.GROUP, "Tea lovers")
    await chats.joined(group, member.id, NOW)
    await chats.left(group, member.id, NOW + timedelta(days=1))
    await chats.joined(group, member.id, NOW + timedelta(days=2))
    assert await chats.touch(group, NOW) == await chats.touch(group, NOW)
    await log.record(member.id, "start", NOW, chat_id="5", detail={"payload": "src-x"})


@pytest.fixture(params=["memory", "sql", "redis"])
async def ledger(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[UpdateLedger]:
    if request.param == "memory":
        if "postgresql" in database_url:
            pytest.skip("the memory ledger has no database; tested once")
        yield MemoryLedger()
    elif request.param == "sql":
        database = with_feature_tables(Database(database_url))
        await database.migrate()
        yield SqlLedger(database)
        await database.close()
    else:
        if "postgresql" in database_url:
            pytest.skip("the Redis ledger does not use the database; tested once")
        client = await fresh_redis()
        yield RedisLedger(client)
        await client.aclose()


async def test_ledger_claims_once(ledger: UpdateLedger) -> None:
    assert await ledger.claim("tg:1")
    assert not await ledger.claim("tg:1")
    assert await ledger.claim("tg:2")
    await ledger.release("tg:1")
    assert await ledger.claim("tg:1")


async def test_ledger_is_exact_under_concurrency(ledger: UpdateLedger) -> None:
    """Many workers racing for the same 50 updates: each is claimed exactly once."""
    keys = [f"tg:{n}" for n in range(50)]
    results = await asyncio.gather(*(ledger.claim(key) for _ in range(8) for key in keys))
    assert sum(results) == len(keys)
