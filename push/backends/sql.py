"""SQL backend (SQLite embedded, or PostgreSQL shared by workers).

Each decision runs in one transaction under a per-member lock: an advisory
transaction lock on PostgreSQL (exact across workers), an asyncio lock on
SQLite (exact because SQLite means one process). The waiting line is the
``push_pending`` table itself, which the gate writes, so ``hold`` is a no-op.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import String, Table, bindparam, delete, literal, null, select, text, union_all
from sqlalchemy import cast as cast_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.selectable import CompoundSelect

from push.contract import Outcome
from push.rules import DAY, WEEK, Ask, MemberState, Reason, Verdict, Waiting, decide
from storage.database import Database
from storage.members import insert_for
from storage.push_tables import PushGroupPost, PushPending, PushSend, PushSwitch

KILL_SWITCH = "paused"
_LOCK_MEMBER = 0x5057
_LOCK_GROUP = 0x5058
_STRIPES = 256


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


sends = cast(Table, PushSend.__table__)
pending = cast(Table, PushPending.__table__)
switches = cast(Table, PushSwitch.__table__)
group_posts = cast(Table, PushGroupPost.__table__)


def _facts(sends_of: Any, waiting_of: Any) -> CompoundSelect[Any]:
    """Everything a decision reads, in one statement (each round trip through the
    driver cost more than the reading): the members' sends since ``:since``, their
    waiting line, and the kill switch, as rows (kind, member, key, time, category,
    counts or switch, priority, seq)."""
    nothing = {
        name: cast_(null(), column.type)
        for name, column in (
            ("member_id", sends.c.member_id),
            ("key", sends.c.key),
            ("at", sends.c.at),
            ("category", sends.c.category),
            ("counts", sends.c.counts),
            ("priority", pending.c.priority),
            ("seq", pending.c.seq),
        )
    }
    return union_all(
        select(
            literal("sent", String).label("kind"),
            sends.c.member_id,
            sends.c.key,
            sends.c.at,
            sends.c.category,
            sends.c.counts,
            nothing["priority"],
            nothing["seq"],
        ).where(sends_of, sends.c.at > bindparam("since")),
        select(
            literal("waiting", String),
            pending.c.member_id,
            pending.c.key,
            pending.c.due_at,
            nothing["category"],
            nothing["counts"],
            pending.c.priority,
            pending.c.seq,
        ).where(waiting_of),
        select(
            literal("paused", String),
            nothing["member_id"],
            nothing["key"],
            nothing["at"],
            nothing["category"],
            switches.c.on,
            nothing["priority"],
            nothing["seq"],
        ).where(switches.c.name == KILL_SWITCH),
    )


#: built once: compiling and caching a new statement for every decision cost more
#: than running it
_PAUSED = select(switches.c.on).where(switches.c.name == KILL_SWITCH)
_MEMBER_FACTS = _facts(
    sends.c.member_id == bindparam("member_id"), pending.c.member_id == bindparam("member_id")
)
_MEMBERS_FACTS = _facts(
    sends.c.member_id.in_(bindparam("member_ids", expanding=True)),
    pending.c.member_id.in_(bindparam("member_ids", expanding=True)),
)


class SqlBackend:
    def __init__(self, db: Database, key_ttl: float = 30 * DAY, paused: bool = False) -> None:
        self._db = db
        self.db = db
        self._key_ttl = key_ttl
        self._default_paused = paused
        self._stripes = [asyncio.Lock() for _ in range(_STRIPES)]
        sent = insert_for(db.dialect, sends)
        self._sent = sent.on_conflict_do_update(
            index_elements=[sends.c.member_id, sends.c.key],
            set_={"at": sent.excluded.at, "counts": sent.excluded.counts},
        )

    @asynccontextmanager
    async def _locked(self, lock_id: int, name: str | int) -> AsyncIterator[AsyncConnection]:
        stripe = hash(name) % _STRIPES
        async with self._stripes[stripe], self._db.transaction() as conn:
            if self._db.dialect == "postgresql":
                if isinstance(name, int):
                    stmt = text("SELECT pg_advisory_xact_lock(:a, CAST(:b AS integer))")
                    params: dict[str, object] = {"a": lock_id, "b": name % 2147483647}
                else:
                    stmt = text("SELECT pg_advisory_xact_lock(:a, hashtext(:b))")
                    params = {"a": lock_id, "b": name}
                await conn.execute(stmt, params)
            yield conn

    async def _read_paused(self, conn: AsyncConnection) -> bool:
        on = (await conn.execute(_PAUSED)).scalar()
        return self._default_paused if on is None else bool(on)

    async def _states(
        self, conn: AsyncConnection, asks: Sequence[Ask]
    ) -> tuple[dict[tuple[int, str], MemberState], bool]:
        """Each asked (member, key)'s state, and whether the kill switch is on: the
        members' sends over the longer of a week (caps) and the key's lifetime
        (duplicates), their waiting line and the switch, in one statement."""
        ids = sorted({ask.member_id for ask in asks})
        now = max(ask.now for ask in asks)
        states = {(ask.member_id, ask.key): MemberState() for ask in asks}
        by_member: dict[int, list[MemberState]] = {}
        for ask in asks:
            by_member.setdefault(ask.member_id, []).append(states[(ask.member_id, ask.key)])
        week_ago, key_since = now - WEEK, now - self._key_ttl
        since = at(min(week_ago, key_since))
        if len(ids) == 1:
            found = await conn.execute(_MEMBER_FACTS, {"member_id": ids[0], "since": since})
        else:
            found = await conn.execute(_MEMBERS_FACTS, {"member_ids": ids, "since": since})
        paused = self._default_paused
        counted: list[tuple[int, float, str]] = []
        for kind, member_id, key, moment_at, category, flag, priority, seq in found:
            if kind == "paused":
                paused = bool(flag)
                continue
            moment = moment_at.timestamp()
            if kind == "waiting":
                for state in by_member[member_id]:
                    state.waiting.append(Waiting(key, moment, priority, seq))
                continue
            if flag and moment > week_ago:
                counted.append((member_id, moment, category))
            if moment > key_since and (member_id, key) in states:
                states[(member_id, key)].has_key = True
        counted.sort(key=lambda send: send[1])
        for member_id, moment, category in counted:
            for state in by_member[member_id]:
                state.sends.append((moment, category))
        return states, paused

    async def admit(self, ask: Ask) -> Verdict:
        async with self._locked(_LOCK_MEMBER, ask.member_id) as conn:
            states, paused = await self._states(conn, [ask])
            verdict = decide(states[(ask.member_id, ask.key)], ask, paused)
            if verdict.outcome is Outcome.SENT:
                await conn.execute(
                    self._sent,
                    {
                        "member_id": ask.member_id,
                        "key": ask.key,
                        "category": ask.category,
                        "counts": not ask.bypass,
                        "at": at(ask.now),
                    },
                )
            return verdict

    async def plan(self, ask: Ask, member_ids: Sequence[int]) -> list[Verdict]:
        asks = [ask._replace(member_id=member_id) for member_id in member_ids]
        verdicts: list[Verdict] = []
        for start in range(0, len(asks), 500):
            chunk = asks[start : start + 500]
            async with self._db.reading() as conn:
                states, paused = await self._states(conn, chunk)
            verdicts += [decide(states[(a.member_id, a.key)], a, paused) for a in chunk]
        return verdicts

    async def release(self, member_id: int, key: str) -> None:
        async with self._locked(_LOCK_MEMBER, member_id) as conn:
            await conn.execute(
                delete(sends).where(sends.c.member_id == member_id, sends.c.key == key)
            )

    async def hold(self, member_id: int, waiting: Waiting) -> None:
        return None

    async def unhold(self, member_id: int, key: str) -> None:
        return None

    async def admit_group(self, chat_key: str, key: str, now: float, cap: int | None) -> Verdict:
        async with self._locked(_LOCK_GROUP, chat_key) as conn:
            if await self._read_paused(conn):
                return Verdict(Outcome.DEFERRED, Reason.PAUSED)
            await conn.execute(
                delete(group_posts).where(
                    group_posts.c.chat_key == chat_key, group_posts.c.at <= at(now - DAY)
                )
            )
            rows = await conn.execute(
                select(group_posts.c.key, group_posts.c.at)
                .where(group_posts.c.chat_key == chat_key)
                .order_by(group_posts.c.at)
            )
            posts = [(k, when.timestamp()) for k, when in rows]
            if any(k == key for k, _ in posts):
                return Verdict(Outcome.DROPPED, Reason.DUPLICATE)
            if cap is not None and len(posts) >= cap:
                until = posts[len(posts) - cap][1] + DAY if cap else None
                return Verdict(Outcome.DROPPED, Reason.GROUP_CAP, until)
            await conn.execute(group_posts.insert().values(chat_key=chat_key, key=key, at=at(now)))
            return Verdict(Outcome.SENT)

    async def set_paused(self, paused: bool, by: str | None) -> None:
        stmt = insert_for(self._db.dialect, PushSwitch).values(
            name=KILL_SWITCH, on=paused, changed_by=by, changed_at=datetime.now(UTC)
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[PushSwitch.name],
            set_={"on": paused, "changed_by": by, "changed_at": stmt.excluded.changed_at},
        )
        async with self._db.session() as session, session.begin():
            await session.execute(stmt)

    async def is_paused(self) -> bool:
        async with self._db.reading() as conn:
            return await self._read_paused(conn)

    async def close(self) -> None:
        return None
