"""Writes nobody waits for, inside an update's unit (SQLite and PostgreSQL): committed
with the unit or not at all, seen by every later statement that looks at their tables,
and on PostgreSQL carried by the unit's next statement instead of a round trip of
their own (storage.riders). Pooled PostgreSQL connections are pinged only when idle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, delete, event, func, select, text
from sqlalchemy.exc import DBAPIError

from bot.events import UserRef
from flows.state import JourneyStore
from storage.database import Database
from storage.inbox import SqlInbox, Stored
from storage.insight_tables import MemberLoop
from storage.members import SqlInteractionLog, SqlMemberRepository
from storage.tables import Interaction, Member

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MEMBERS = cast(Table, Member.__table__)


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements sent to the server inside the block (BEGIN/COMMIT aside)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", note)


async def count(db: Database, table: Any) -> int:
    async with db.engine.connect() as other:  # outside any unit
        return int((await other.execute(select(func.count()).select_from(table))).scalar_one())


async def start_like(db: Database, user: str, inbox: SqlInbox) -> int:
    """What a /start writes, in the order it writes it: the member, the interaction, the
    journey (and its rollup row), the noted call."""
    member = await SqlMemberRepository(db).touch(UserRef("telegram", user, "Ann"), NOW)
    await SqlInteractionLog(db).record(member.id, "start", NOW, chat_id=user)
    await JourneyStore(db).open_many([(member.id, NOW, None)])
    await inbox.note_calls(f"tg:{user}", '{"0.0":["sendMessage","1",null]}')
    return member.id


async def test_held_writes_commit_with_the_unit_in_fewer_statements(db: Database) -> None:
    inbox = SqlInbox(db)
    await inbox.put([Stored("tg:7", "{}")], NOW, timedelta(seconds=30))
    with statements(db) as sent:
        async with db.update_unit():
            member_id = await start_like(db, "7", inbox)
    async with db.reading() as conn:
        logged = (await conn.execute(select(Interaction.__table__))).one()
        assert (logged.member_id, logged.kind, logged.chat_id) == (member_id, "start", "7")
        loop = (
            await conn.execute(select(MemberLoop).where(MemberLoop.member_id == member_id))
        ).one()
        assert loop.joined_at == NOW and loop.trust == 0.0 and not loop.referred
        calls = await conn.scalar(text("SELECT calls FROM update_inbox WHERE key = 'tg:7'"))
        assert calls == '{"0.0":["sendMessage","1",null]}'
    if db.dialect == "postgresql":
        # the member; the journey carrying the rollup claim; the rollup's recompute
        # carrying the interaction and the noted call: three round trips, not six
        assert len(sent) == 3, sent
        assert sent[1].startswith("WITH warmline_held_0 AS (INSERT INTO insight_member_loop")
        assert "INSERT INTO journeys" in sent[1]
        assert sent[2].startswith("WITH warmline_held_0 AS (INSERT INTO interactions")
        assert "UPDATE update_inbox" in sent[2] and "INSERT INTO insight_member_loop" in sent[2]


async def test_a_failed_unit_loses_its_held_writes_too(db: Database) -> None:
    if db.dialect == "sqlite":
        pytest.skip("SQLite has no update unit: each statement commits on its own")
    inbox = SqlInbox(db)
    await inbox.put([Stored("tg:8", "{}")], NOW, timedelta(seconds=30))
    with pytest.raises(RuntimeError):
        async with db.update_unit():
            await start_like(db, "8", inbox)
            raise RuntimeError("the handler failed")
    assert await count(db, Interaction) == 0
    assert await count(db, Member) == 0
    async with db.reading() as conn:
        assert await conn.scalar(text("SELECT calls FROM update_inbox")) is None


async def test_a_statement_that_reads_a_held_write_sees_it(db: Database) -> None:
    members = SqlMemberRepository(db)
    async with db.update_unit():
        member = await members.touch(UserRef("telegram", "9"), NOW)
        await SqlInteractionLog(db).record(member.id, "start", NOW)
        async with db.transaction() as conn:  # reads the held write's table: sent first
            seen = await conn.scalar(select(func.count()).select_from(Interaction))
    assert seen == 1


async def test_a_held_write_goes_before_a_change_to_what_it_refers_to(db: Database) -> None:
    """The interaction's member is deleted later in the unit: the held insert is sent
    before the delete (whose cascade then takes it), never after it (it would fail)."""
    members = SqlMemberRepository(db)
    async with db.update_unit():
        member = await members.touch(UserRef("telegram", "10"), NOW)
        await SqlInteractionLog(db).record(member.id, "start", NOW)
        async with db.transaction() as conn:
            await conn.execute(delete(Member).where(Member.id == member.id))
    assert await count(db, Interaction) == 0
    assert await count(db, Member) == 0


async def test_a_statement_with_parameters_named_like_its_columns_carries_no_held_write(
    db: Database,
) -> None:
    """SQLAlchemy fills an INSERT's or UPDATE's columns from any parameter of the same
    name: a held UPDATE of the inbox must not ride on a statement given ``key``."""
    inbox = SqlInbox(db)
    await inbox.put([Stored("tg:12", "{}"), Stored("tg:13", "{}")], NOW, timedelta(seconds=30))
    async with db.update_unit():
        await inbox.note_calls("tg:12", "[]")
        async with db.transaction() as conn:  # it touches no inbox row, but names ``key``
            found = await conn.scalar(
                select(MEMBERS.c.id).where(MEMBERS.c.user_id == bindparam("key")),
                {"key": "tg:13"},
            )
    assert found is None
    async with db.reading() as conn:
        keys = set((await conn.execute(text("SELECT key FROM update_inbox"))).scalars())
        calls = await conn.scalar(text("SELECT calls FROM update_inbox WHERE key = 'tg:12'"))
    assert keys == {"tg:12", "tg:13"} and calls == "[]"


async def test_outside_an_update_unit_a_write_is_made_at_once(db: Database) -> None:
    member = await SqlMemberRepository(db).touch(UserRef("telegram", "11"), NOW)
    await SqlInteractionLog(db).record(member.id, "start", NOW)
    assert await count(db, Interaction) == 1


async def kill_pooled_connection(db: Database, pg_url: str) -> int:
    """Terminate the backend of ``db``'s one pooled connection; returns its pid."""
    async with db.engine.connect() as conn:
        pid = int(await conn.scalar(text("SELECT pg_backend_pid()")))
    killer = Database(pg_url)
    try:
        async with killer.engine.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await killer.close()
    return pid


async def test_an_idle_pooled_connection_is_pinged_and_replaced_when_dead(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storage.connections.PING_AFTER_IDLE", 0.0)  # every one is idle
    db = Database(pg_url, pool_size=1, max_overflow=0)
    try:
        pid = await kill_pooled_connection(db, pg_url)
        async with db.engine.connect() as conn:  # pinged, found dead, replaced
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await db.close()


async def test_a_connection_given_back_just_now_is_not_pinged(pg_url: str) -> None:
    """A burst skips the ping; a server restart is then met by the first statement
    (a disconnect: the pool starts afresh and the update is tried again)."""
    db = Database(pg_url, pool_size=1, max_overflow=0)
    try:
        pid = await kill_pooled_connection(db, pg_url)
        with pytest.raises(DBAPIError) as failed:
            async with db.engine.connect() as conn:
                await conn.scalar(text("SELECT 1"))
        assert failed.value.connection_invalidated
        async with db.engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await db.close()


async def test_marking_a_member_started_rides_on_what_refers_to_the_member(
    db: Database,
) -> None:
    """``started_bot`` is set by a quiet write (a column no key refers to): it rides on
    the journey's insert, which refers to the member only by key, and is committed."""
    inbox = SqlInbox(db)
    await inbox.put([Stored("tg:14", "{}")], NOW, timedelta(seconds=30))
    members = SqlMemberRepository(db)
    with statements(db) as sent:
        async with db.update_unit():
            member = await members.touch(UserRef("telegram", "14", "Ann"), NOW)
            started = await members.mark_started(member)
            await SqlInteractionLog(db).record(member.id, "start", NOW, chat_id="14")
            await JourneyStore(db).open_many([(member.id, NOW, None)])
    assert started.started_bot and started == await members.get_by_id(member.id)
    if db.dialect == "postgresql":  # the member; the journey; the recompute
        assert len(sent) == 3, sent
        assert sent[1].startswith("WITH warmline_held_0 AS (UPDATE members SET started_bot")
        assert "INSERT INTO journeys" in sent[1]


async def test_a_statement_that_reads_the_started_column_sees_the_mark(db: Database) -> None:
    """A statement naming ``started_bot`` (or every member column) sees the quiet write:
    it is sent on its own first, as any held write a statement might see."""
    members = SqlMemberRepository(db)
    with statements(db) as sent:
        async with db.update_unit():
            member = await members.touch(UserRef("telegram", "15"), NOW)
            await members.mark_started(member)
            async with db.transaction() as conn:
                seen = await conn.scalar(
                    select(MEMBERS.c.started_bot).where(MEMBERS.c.id == member.id)
                )
            again = await members.get_by_id(member.id)
    assert seen is True and again is not None and again.started_bot
    if db.dialect == "postgresql":
        assert sent[1].startswith("UPDATE members SET started_bot"), sent


async def test_sqlite_holds_a_write_until_the_updates_next_transaction(db: Database) -> None:
    """SQLite has no update unit: what ``Database.write`` is given inside an update
    waits for the task's next transaction (no commit of its own), and is committed
    before a platform call goes out (``end_update_unit``) or when the update ends."""
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL's update unit commits everything together")
    inbox = SqlInbox(db)
    await inbox.put([Stored("tg:14", "{}")], NOW, timedelta(seconds=30))
    async with db.update_unit():
        member = await SqlMemberRepository(db).touch(UserRef("telegram", "14"), NOW)
        assert await count(db, Member) == 1  # a transaction of its own, as before
        await SqlInteractionLog(db).record(member.id, "start", NOW)
        await inbox.note_calls("tg:14", "[]")
        assert await count(db, Interaction) == 0  # held
        await db.end_update_unit()  # a platform call is about to go out
        assert await count(db, Interaction) == 1
        await SqlInteractionLog(db).record(member.id, "help", NOW)
    assert await count(db, Interaction) == 2  # the update's end commits the rest
    async with db.reading() as conn:
        assert await conn.scalar(text("SELECT calls FROM update_inbox")) == "[]"


async def test_sqlite_drops_what_a_failed_update_holds(db: Database) -> None:
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL: test_a_failed_unit_loses_its_held_writes_too")
    inbox = SqlInbox(db)
    await inbox.put([Stored("tg:15", "{}")], NOW, timedelta(seconds=30))
    with pytest.raises(RuntimeError):
        async with db.update_unit():
            member = await SqlMemberRepository(db).touch(UserRef("telegram", "15"), NOW)
            await SqlInteractionLog(db).record(member.id, "start", NOW)
            await inbox.note_calls("tg:15", "[]")
            raise RuntimeError("the handler failed")
    assert await count(db, Member) == 1  # committed on its own before the failure
    assert await count(db, Interaction) == 0
    async with db.reading() as conn:
        assert await conn.scalar(text("SELECT calls FROM update_inbox")) is None
    async with db.update_unit():  # the task holds nothing any more: writes run at once
        pass
    await SqlInteractionLog(db).record(member.id, "start", NOW)
    assert await count(db, Interaction) == 1
