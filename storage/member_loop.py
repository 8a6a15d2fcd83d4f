"""The per-member loop rollup (``insight_member_loop``), kept current by its writers.

The funnel counts, per source and join week, members who engaged, are trusted,
were offered, bought, bought again and brought friends. Joining members,
journeys, orders and referrals for that reads several times more than one
narrow row per member, so those facts are copied into one.

Whoever changes them calls :func:`sync_member_loop` with the members concerned,
in the same transaction, after the change: journeys (opened, signal counters,
trust, offers), orders, a member's source or referrer, erasure. It recomputes
the rows from the tables they come from, so calling it twice, or for a member
whose facts did not change, is harmless. Members inserted without it (the
foundation's ``touch``, the simulation, imports) get their rows from
:func:`catch_up_member_loop`, which the insight pages run first.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from functools import cache, reduce
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Executable,
    Table,
    and_,
    any_,
    bindparam,
    exists,
    false,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause, Select

from storage.amounts import counted_amount
from storage.database import Database, refresh_at_commit
from storage.flow_tables import Journey, Order
from storage.insight_tables import MemberLoop
from storage.prepared import Prepared
from storage.rollup_marks import advance_mark, read_mark
from storage.tables import Member

loop = cast(Table, MemberLoop.__table__)
members = cast(Table, Member.__table__)
journeys = cast(Table, Journey.__table__)
orders = cast(Table, Order.__table__)

MARK = "member_loop"
#: members this many ids below the mark are looked at again (an insert committed late)
OVERLAP = 1_000
#: members recomputed per statement, named by id
CHUNK = 500
#: members added per statement when catching up a range of ids
SPAN = 20_000
#: a catch-up that adds this many rows refreshes the table's planner statistics
ANALYZE_AFTER = 10_000
#: the rollup's columns, in the order :func:`_facts` selects them
COLUMNS = [column.name for column in loop.columns]


#: journey counters of things the member did themselves
ENGAGING = ("messages", "replies", "questions", "buttons", "opened")


def engaged(table: FromClause = journeys) -> ColumnElement[bool]:
    """The member did something themselves: the journey's own action counters."""
    return reduce(operator.add, (table.c[name] for name in ENGAGING)) > 0


async def sync_member_loop(
    conn: AsyncConnection,
    member_ids: Iterable[int],
    *,
    referrers: bool = False,
    claimed: bool = False,
) -> None:
    """Recompute these members' rows; ``referrers`` also recomputes the members whose
    referral code they joined with (whose friend counts change with a member's
    referrer or erasure). Inside a unit of work (the simulator) the recompute runs
    once, for every member noted, just before the unit commits. ``claimed``: their
    rows were claimed in this transaction already (:func:`hold_claim`)."""
    refresh = _sync_with_referrers if referrers else _recompute_ids if claimed else _sync_ids
    ids = sorted(set(member_ids))
    if not refresh_at_commit(conn, refresh, ids):
        await refresh(conn, ids)


async def hold_claim(db: Database, member_ids: Iterable[int]) -> bool:
    """Inside a PostgreSQL update unit, claim these members' rows (see
    :func:`_sync_statements`) with the unit's next statement (a held write,
    :meth:`Database.write`): the journeys' insert carries it, the recompute at commit
    then needs no claim of its own. True when held; elsewhere nothing is done (False)
    and :func:`sync_member_loop` claims as usual."""
    if not db.holds_writes():
        return False
    ids = sorted(set(member_ids))
    if len(ids) == 1:  # one value, not an array: see _by_ids
        await db.write(_HELD_CLAIM_ONE, {"loop_claim_id": ids[0]})
    else:
        await db.write(_HELD_CLAIM, {"loop_claim_ids": ids})
    return True


async def _sync_with_referrers(conn: AsyncConnection, ids: list[int]) -> None:
    if ids:
        ids = sorted(set(ids) | set(await referrers_of(conn, ids)))
    await _sync_ids(conn, ids)


async def _sync_ids(conn: AsyncConnection, ids: list[int]) -> None:
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        statements, params = _by_ids(conn.dialect.name, chunk)
        for statement in statements:
            await statement.run(conn, params)


async def _recompute_ids(conn: AsyncConnection, ids: list[int]) -> None:
    """As :func:`_sync_ids` for rows claimed earlier in the transaction."""
    for start in range(0, len(ids), CHUNK):
        statements, params = _by_ids(conn.dialect.name, ids[start : start + CHUNK])
        await statements[-1].run(conn, params)


def _by_ids(dialect: str, ids: list[int]) -> tuple[list[Prepared], dict[str, Any]]:
    """The statements recomputing ``ids``, and their parameters. One member is named
    as one value: on PostgreSQL a plan for ``id = ANY($1)`` guesses ten ids, and on a
    table without planner statistics yet (a new bot's) it scans members and journeys
    whole, for every update; on SQLite an expanding ``IN`` is rendered again for each
    execution, where one value runs on the prepared path (a /start recomputes one)."""
    key = f"{dialect}-one" if len(ids) == 1 else dialect
    return _statements_for(key), {"ids": ids[0] if key.endswith("-one") else ids}


@cache  # built once: a bot recomputes a member or two per update
def _statements_for(key: str) -> list[Prepared]:
    dialect, _, one = key.partition("-")
    which = _ONE_ID if one else _IDS_ARRAY if dialect == "postgresql" else _IDS
    return [Prepared(statement) for statement in _sync_statements(dialect, which)]


async def catch_up_member_loop(conn: AsyncConnection) -> int:
    """Rows for members added since the last catch-up, and fresh friend counts for
    those who referred them; returns how many member ids were read. Run it in a
    transaction that commits."""
    newest = await conn.scalar(select(func.max(members.c.id)))
    if newest is None:
        return 0
    done, newest = await read_mark(conn, MARK), int(newest)
    if done >= newest:
        return 0
    spans = [and_(members.c.id > max(0, done - OVERLAP), members.c.id <= done)]
    spans += [
        and_(members.c.id > low, members.c.id <= min(low + SPAN, newest))
        for low in range(done, newest, SPAN)
    ]
    added = 0
    for span in spans:
        fresh = await _fill(conn, span)
        await sync_member_loop(conn, await referrers_of(conn, fresh))
        added += len(fresh)
    await advance_mark(conn, MARK, newest)
    if added >= ANALYZE_AFTER:
        # the planner would misjudge the table until autovacuum's next round
        await conn.execute(text(f"ANALYZE {loop.name}"))
    return newest - done


async def _fill(conn: AsyncConnection, which: ColumnElement[bool]) -> list[int]:
    """Rows for the members in ``which`` that have none; returns their ids. Rows that
    exist were written by :func:`sync_member_loop` and are current."""
    missing = and_(which, ~exists().where(loop.c.member_id == members.c.id))
    fresh = _insert(conn).from_select(COLUMNS, _facts(missing))
    added = await conn.scalars(
        fresh.on_conflict_do_nothing(index_elements=["member_id"]).returning(loop.c.member_id)
    )
    return list(added)


def _insert(conn: AsyncConnection) -> Any:
    """An INSERT into the rollup with ON CONFLICT (``storage.members.insert_for``, which
    cannot be imported here: the member repository calls this module)."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(loop)


#: members named by id (the ``ids`` parameter), and the statements recomputing them
_IDS = members.c.id.in_(bindparam("ids", expanding=True))
#: the same on PostgreSQL as one array: the statement's text is not rewritten for each
#: execution (an expanding IN is), and it is one prepared statement for any count
_IDS_ARRAY = members.c.id == any_(bindparam("ids", type_=postgresql.ARRAY(BigInteger)))
#: one member (see :func:`_by_ids`)
_ONE_ID = members.c.id == bindparam("ids", type_=BigInteger)


async def _sync(conn: AsyncConnection, which: ColumnElement[bool]) -> None:
    for statement in _sync_statements(conn.dialect.name, which):
        await conn.execute(statement)


def _sync_statements(dialect: str, which: ColumnElement[bool]) -> list[Executable]:
    module = postgresql if dialect == "postgresql" else sqlite
    statements: list[Executable] = []
    if dialect == "postgresql":
        # first create missing rows and lock them all: a concurrent writer's recompute
        # then waits for this transaction to end, and its statement sees this change,
        # so no recompute overwrites a newer one (SQLite has one writer at a time)
        statements.append(_claim(which))
    fresh = module.insert(loop).from_select(COLUMNS, _facts(which))
    statements.append(
        fresh.on_conflict_do_update(
            index_elements=["member_id"],
            set_={name: fresh.excluded[name] for name in COLUMNS if name != "member_id"},
        )
    )
    return statements


def _claim(which: ColumnElement[bool]) -> Any:
    """PostgreSQL: create the rows of the members in ``which`` that have none, and lock
    them all. The columns with defaults get them in the SELECT, not from SQLAlchemy
    (a statement carrying held writes computes none: storage.riders)."""
    defaults = [c for c in loop.columns if c.default is not None and c.name != "member_id"]
    claim = postgresql.insert(loop).from_select(
        ["member_id", "joined_at", *(c.name for c in defaults)],
        select(
            members.c.id,
            members.c.joined_at,
            *(literal(c.default.arg, c.type) for c in defaults),  # type: ignore[union-attr]
        )
        .where(which)
        .order_by(members.c.id),
    )
    return claim.on_conflict_do_update(
        index_elements=["member_id"], set_={"joined_at": claim.excluded.joined_at}
    )


#: :func:`hold_claim`'s statement: ids as one array, so its text is one for any number
_HELD_CLAIM = _claim(
    members.c.id == any_(bindparam("loop_claim_ids", type_=postgresql.ARRAY(BigInteger)))
)
_HELD_CLAIM_ONE = _claim(members.c.id == bindparam("loop_claim_id", type_=BigInteger))


def _facts(which: ColumnElement[bool]) -> Select[tuple[object, ...]]:
    """One row per member in ``which``, columns as in :data:`COLUMNS`."""
    mine = orders.c.member_id == members.c.id
    friend = members.alias("friend")
    my_friend = friend.c.referrer_code == journeys.c.referral_code
    return (
        select(
            members.c.id,
            members.c.source,
            members.c.joined_at,
            members.c.referrer_code.is_not(None),
            func.coalesce(engaged(), false()),
            journeys.c.trust,
            journeys.c.first_offer_at,
            select(func.min(orders.c.at)).where(mine).scalar_subquery(),
            select(orders.c.at)
            .where(mine)
            .order_by(orders.c.at, orders.c.id)
            .limit(1)
            .offset(1)
            .scalar_subquery(),
            select(func.coalesce(func.sum(counted_amount(orders.c.amount)), 0.0))
            .where(mine)
            .scalar_subquery(),
            select(func.count()).select_from(friend).where(my_friend).scalar_subquery(),
            select(func.min(friend.c.joined_at)).where(my_friend).scalar_subquery(),
        )
        .select_from(members.outerjoin(journeys, journeys.c.member_id == members.c.id))
        .where(which)
    )


async def referrers_of(conn: AsyncConnection, member_ids: Iterable[int]) -> list[int]:
    """Members whose referral code one of these members joined with."""
    ids = sorted(set(member_ids))
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        found.update(
            await conn.scalars(
                select(journeys.c.member_id)
                .select_from(
                    members.join(journeys, journeys.c.referral_code == members.c.referrer_code)
                )
                .where(members.c.id.in_(ids[start : start + CHUNK]))
            )
        )
    return sorted(found)
