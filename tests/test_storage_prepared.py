"""Hot statements run on SQLite's own connection (storage.prepared) read and write what
SQLAlchemy's path does, and SQLAlchemy's path is taken wherever the fast one is not
the same thing: PostgreSQL, aiosqlite's threaded connections, refused statements,
statements that fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, event, insert, select, tuple_
from sqlalchemy.exc import IntegrityError, NoResultFound

from bot.events import UserRef
from bot.schema import with_feature_tables
from flows.orders import NewOrder, OrderBook
from flows.timers import NewTimer, TimerStore
from storage.database import Database, UnitOfWorkFailed
from storage.flow_tables import FlowTimer, Order
from storage.members import SqlMemberRepository
from storage.prepared import Prepared, sqlite_driver

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_TIMER_COLUMNS = [FlowTimer.id, FlowTimer.key, FlowTimer.due_at, FlowTimer.payload]


async def _open(url: str) -> Database:
    db = with_feature_tables(
        Database(url, only_user=True)
    )  # SQLite: units of work on the inline connection
    await db.migrate()
    return db


async def _season(db: Database) -> list[tuple[Any, ...]]:
    """Members, timers scheduled (some claimed at once), claimed, orders: through the
    stores' prepared statements; then every stored row, read by SQLAlchemy."""
    members = SqlMemberRepository(db)
    timers = TimerStore(db)
    async with db.unit_of_work():
        ids = [(await members.touch(UserRef("telegram", str(n), "Ann"), NOW)).id for n in range(3)]
        await members.update(ids[0], opted_out=True)
        claimed_now = []
        for m in ids:  # a few rows: one by one on the fast path
            new = [
                NewTimer(f"f.v1:{m}:1:{step}", m, "f", step, NOW + timedelta(hours=h), {"h": h})
                for step, h in (("a", 0), ("b", 2))
            ]
            claimed_now += await timers.schedule(new, claim_by=NOW)
        claimed_later = await timers.claim_due(NOW + timedelta(hours=3), limit=2)
        orders = await OrderBook(db).record_many(
            [NewOrder(ids[1], "tea", 12.5, NOW, "shop", "o-1")] * 2
        )
    async with db.reading() as conn:
        stored_timers = (
            await conn.execute(select(FlowTimer.__table__).order_by(FlowTimer.id))
        ).all()
        stored_orders = (await conn.execute(select(Order.__table__))).all()
        opted = await members.get("telegram", "0")
    assert opted is not None and opted.opted_out
    return [
        tuple((t.key, t.due_at, t.payload) for t in claimed_now),
        tuple((t.key, t.due_at, t.payload) for t in claimed_later),
        tuple(o is None for o in orders),
        *map(tuple, stored_timers),
        *map(tuple, stored_orders),
    ]


def _direct_runs(monkeypatch: pytest.MonkeyPatch, *, fast: bool) -> list[int]:
    """Count the fast path's runs; with ``fast`` False it is never taken."""
    runs: list[int] = []
    real = Prepared._direct

    def counted(self: Prepared, conn: Any, params: Any) -> Any:
        done = real(self, conn, params) if fast else None
        runs.append(done is not None)
        return done

    monkeypatch.setattr(Prepared, "_direct", counted)
    return runs


async def test_the_fast_path_stores_and_reads_what_sqlalchemy_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seasons = []
    for fast in (True, False):
        runs = _direct_runs(monkeypatch, fast=fast)
        db = await _open(f"sqlite+aiosqlite:///{tmp_path / f'{fast}.db'}")
        try:
            seasons.append(await _season(db))
        finally:
            await db.close()
        # 3 members touched, 1 update, 6 timers (an executemany per member on
        # SQLAlchemy's path), 1 claim, the orders' counts, 2 orders, the one buyer's
        # rollup row
        assert any(runs) is fast and len(runs) == (15 if fast else 12)
    fast_rows, slow_rows = seasons
    assert fast_rows == slow_rows
    claimed_now, claimed_later, duplicate = fast_rows[:3]
    assert len(claimed_now) == 3 and len(claimed_later) == 2  # the "a" steps, then two "b"
    assert duplicate == (False, True)  # the same external order id is stored once


async def test_postgresql_takes_sqlalchemys_path(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _direct_runs(monkeypatch, fast=True)
    db = await _open(pg_url)
    try:
        rows = await _season(db)
        async with db.transaction() as conn:
            assert sqlite_driver(conn) is None
    finally:
        await db.close()
    assert runs and not any(runs)
    assert len(rows[0]) == 3 and len(rows[1]) == 2 and rows[2] == (False, True)


async def test_aiosqlite_connections_and_listened_engines_take_sqlalchemys_path(
    sqlite_url: str,
) -> None:
    db = with_feature_tables(Database(sqlite_url))  # reads go through aiosqlite's thread
    await db.migrate()
    try:
        async with db.reading() as conn:
            await conn.begin()
            assert sqlite_driver(conn) is None
        async with db.transaction() as conn:  # writes: on the loop's thread
            assert sqlite_driver(conn) is not None
            seen: list[str] = []

            def note(*args: Any) -> None:
                seen.append(args[2])

            engine = conn.sync_engine
            event.listen(engine, "before_cursor_execute", note)
            try:
                assert sqlite_driver(conn) is None  # the listener would miss the statement
                count = Prepared(select(FlowTimer.id).where(FlowTimer.id > bindparam("n")))
                assert list(await count.all(conn, {"n": 0})) == []
            finally:
                event.remove(engine, "before_cursor_execute", note)
            assert len(seen) == 1
    finally:
        await db.close()


async def test_a_refused_statement_runs_through_sqlalchemy(sqlite_url: str) -> None:
    db = await _open(sqlite_url)
    timers = TimerStore(db)
    try:
        async with db.unit_of_work():
            (member,) = [
                (await SqlMemberRepository(db).touch(UserRef("telegram", "1", "A"), NOW)).id
            ]
            await timers.schedule([NewTimer("k1", member, "f", "s", NOW, {})])
            async with db.transaction() as conn:
                listed = Prepared(  # a tuple IN list
                    select(*_TIMER_COLUMNS).where(
                        tuple_(FlowTimer.key, FlowTimer.step).in_(
                            bindparam("pairs", expanding=True)
                        )
                    )
                )
                rows = await listed.all(conn, {"pairs": [("k1", "s"), ("k2", "s")]})
                assert [tuple(row)[1:] for row in rows] == [("k1", NOW, {})]
                assert listed._plans == {("pairs",): None}  # refused: SQLAlchemy rendered it
                # a bind the caller does not give: SQLAlchemy's own error
                keyed = Prepared(select(FlowTimer.id).where(FlowTimer.key == bindparam("key")))
                with pytest.raises(Exception, match="key"):
                    await keyed.all(conn, {})
                assert keyed._plans == {(): None}
                with pytest.raises(NoResultFound):
                    await keyed.one(conn, {"key": "none"})
                raise _Rollback
    except _Rollback:
        pass
    finally:
        await db.close()


class _Rollback(Exception):
    pass


async def test_in_lists_run_on_the_fast_path_as_sqlalchemy_renders_them(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An IN list is planned once per length (empty included) and reads what SQLAlchemy
    reads; its values go through the column's type (aware datetimes here)."""
    db = await _open(sqlite_url)
    timers = TimerStore(db)
    listed = Prepared(
        select(*_TIMER_COLUMNS)
        .where(
            FlowTimer.due_at.in_(bindparam("at", expanding=True)),
            FlowTimer.key != bindparam("not_key"),
        )
        .order_by(FlowTimer.id)
    )
    try:
        async with db.unit_of_work():
            member = (await SqlMemberRepository(db).touch(UserRef("telegram", "1", "A"), NOW)).id
            times = [NOW + timedelta(hours=h) for h in range(4)]
            await timers.schedule(
                [NewTimer(f"k{n}", member, "f", "s", at, {"n": n}) for n, at in enumerate(times)]
            )
            asked = [[], times[:1], times[1:3], [times[3], times[0]], times[2:3]]
            async with db.transaction() as conn:
                fast = [list(await listed.all(conn, {"at": at, "not_key": "k0"})) for at in asked]
                assert listed.direct == len(asked)
                slow = [
                    list(await conn.execute(listed.statement, {"at": at, "not_key": "k0"}))
                    for at in asked
                ]
                assert fast == [[tuple(row) for row in rows] for rows in slow]
                assert [len(rows) for rows in fast] == [0, 0, 2, 1, 1]
                (expanding,) = listed._plans.values()
                assert sorted(expanding.plans) == [(0,), (1,), (2,)]  # type: ignore[union-attr]
                # a set is not a list: SQLAlchemy's path, the same rows
                again = await listed.all(conn, {"at": set(times[1:3]), "not_key": "k0"})
                assert listed.direct == len(asked) and len(again) == 2
                # past EXPANSIONS_MOST lengths, SQLAlchemy renders the others
                monkeypatch.setattr("storage.plans.EXPANSIONS_MOST", 3)
                assert len(await listed.all(conn, {"at": times, "not_key": "k0"})) == 3
                assert listed.direct == len(asked)
            raise _Rollback
    except _Rollback:
        pass
    finally:
        await db.close()


async def test_a_failing_statement_raises_as_sqlalchemy_and_fails_the_unit(
    sqlite_url: str,
) -> None:
    db = await _open(sqlite_url)
    try:
        member = (await SqlMemberRepository(db).touch(UserRef("telegram", "1", "A"), NOW)).id
        add = Prepared(insert(FlowTimer).returning(FlowTimer.id))
        row = {
            "key": "same",
            "member_id": member,
            "flow": "f",
            "step": "s",
            "due_at": NOW,
            "fired": False,
            "fired_at": None,
            "payload": {},
        }
        with pytest.raises(UnitOfWorkFailed):
            async with db.unit_of_work(), db.transaction() as conn:
                (first,) = await add.scalars(conn, row)
                with pytest.raises(IntegrityError):  # the unique key, raised by SQLAlchemy
                    await add.scalars(conn, row)
                assert add._plans[tuple(row)] is not None  # planned; SQLite refused the row
        async with db.reading() as conn:  # the unit was rolled back as a whole
            assert (await conn.execute(select(FlowTimer.id))).all() == []
        assert first == 1
    finally:
        await db.close()


async def _many_timers(db: Database) -> tuple[list[tuple[Any, ...]], int]:
    """Seven timers at once (two stored already, one of them due: it is claimed by the
    upsert), then every stored timer."""
    timers = TimerStore(db)
    async with db.unit_of_work():
        member = (await SqlMemberRepository(db).touch(UserRef("telegram", "1", "A"), NOW)).id
        new = [
            NewTimer(f"k{n}", member, "f", f"s{n}", NOW + timedelta(hours=n - 3), {"n": n})
            for n in range(7)
        ]
        await timers.schedule([new[1], new[5]])
        claimed = await timers.schedule(new, claim_by=NOW)
    async with db.reading() as conn:
        stored = (await conn.execute(select(FlowTimer.__table__).order_by(FlowTimer.id))).all()
    rows = [tuple((t.key, t.due_at, t.payload) for t in claimed), *map(tuple, stored)]
    return rows, timers._claiming.direct


async def test_many_rows_of_an_insert_run_as_one_statement_as_sqlalchemy_renders_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seasons = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(Prepared, "_direct_many", lambda *_: None)
        db = await _open(f"sqlite+aiosqlite:///{tmp_path / f'many-{fast}.db'}")
        try:
            seasons.append(await _many_timers(db))
        finally:
            await db.close()
    (fast_rows, fast_runs), (slow_rows, slow_runs) = seasons
    assert fast_rows == slow_rows
    assert (fast_runs, slow_runs) == (1, 0)  # the seven rows: one statement on the fast path
    claimed = fast_rows[0]
    assert [key for key, _, _ in claimed] == ["k0", "k1", "k2", "k3"]  # due by NOW


async def test_more_rows_than_a_page_take_sqlalchemys_path(sqlite_url: str) -> None:
    db = await _open(sqlite_url)
    timers = TimerStore(db)
    try:
        async with db.unit_of_work():
            member = (await SqlMemberRepository(db).touch(UserRef("telegram", "1", "A"), NOW)).id
            rows = [NewTimer(f"k{n}", member, "f", "s", NOW, {}) for n in range(6)]
            await timers.schedule(rows[:5], claim_by=NOW)
            (many,) = timers._claiming._many.values()
            assert many is not None and timers._claiming.direct == 1
            many.most = 5  # a page of five rows: six are SQLAlchemy's to batch
            claimed = await timers.schedule(rows, claim_by=NOW)
            assert [t.key for t in claimed] == ["k5"] and timers._claiming.direct == 1
    finally:
        await db.close()
