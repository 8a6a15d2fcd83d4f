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
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.push.contract import Outcome
from bot.push.rules import DAY, WEEK, Ask, MemberState, Reason, Verdict, Waiting, decide
from storage.database import Database
from storage.members import insert_for
from storage.push_tables import PushGroupPost, PushPending, PushSend, PushSwitch

KILL_SWITCH = "paused"
_LOCK_MEMBER = 0x5057
_LOCK_GROUP = 0x5058
_STRIPES = 256


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class SqlBackend:
    def __init__(self, db: Database, key_ttl: float = 30 * DAY, paused: bool = False) -> None:
        self._db = db
        self.db = db
        self._key_ttl = key_ttl
        self._default_paused = paused
        self._stripes = [asyncio.Lock() for _ in range(_STRIPES)]

    @asynccontextmanager
    async def _locked(self, lock_id: int, name: str | int) -> AsyncIterator[AsyncSession]:
        stripe = hash(name) % _STRIPES
        async with self._stripes[stripe], self._db.session() as session, session.begin():
            if self._db.dialect == "postgresql":
                if isinstance(name, int):
                    stmt = text("SELECT pg_advisory_xact_lock(:a, CAST(:b AS integer))")
                    params: dict[str, object] = {"a": lock_id, "b": name % 2147483647}
                else:
                    stmt = text("SELECT pg_advisory_xact_lock(:a, hashtext(:b))")
                    params = {"a": lock_id, "b": name}
                await session.execute(stmt, params)
            yield session

    async def _read_paused(self, session: AsyncSession) -> bool:
        row = await session.get(PushSwitch, KILL_SWITCH)
        return self._default_paused if row is None else row.on

    async def _states(
        self, session: AsyncSession, asks: Sequence[Ask]
    ) -> dict[tuple[int, str], MemberState]:
        ids = sorted({ask.member_id for ask in asks})
        keys = sorted({ask.key for ask in asks})
        now = max(ask.now for ask in asks)
        states = {(ask.member_id, ask.key): MemberState() for ask in asks}
        by_member: dict[int, list[MemberState]] = {}
        for ask in asks:
            by_member.setdefault(ask.member_id, []).append(states[(ask.member_id, ask.key)])
        sends = await session.execute(
            select(PushSend.member_id, PushSend.at, PushSend.category)
            .where(
                PushSend.member_id.in_(ids),
                PushSend.counts.is_(True),
                PushSend.at > at(now - WEEK),
            )
            .order_by(PushSend.at)
        )
        for member_id, sent_at, category in sends:
            for state in by_member[member_id]:
                state.sends.append((sent_at.timestamp(), category))
        seen = await session.execute(
            select(PushSend.member_id, PushSend.key).where(
                PushSend.member_id.in_(ids),
                PushSend.key.in_(keys),
                PushSend.at > at(now - self._key_ttl),
            )
        )
        for member_id, key in seen:
            if (member_id, key) in states:
                states[(member_id, key)].has_key = True
        waiting = await session.execute(
            select(
                PushPending.member_id,
                PushPending.key,
                PushPending.due_at,
                PushPending.priority,
                PushPending.seq,
            ).where(PushPending.member_id.in_(ids))
        )
        for member_id, key, due, priority, seq in waiting:
            for state in by_member[member_id]:
                state.waiting.append(Waiting(key, due.timestamp(), priority, seq))
        return states

    async def admit(self, ask: Ask) -> Verdict:
        async with self._locked(_LOCK_MEMBER, ask.member_id) as session:
            state = (await self._states(session, [ask]))[(ask.member_id, ask.key)]
            verdict = decide(state, ask, await self._read_paused(session))
            if verdict.outcome is Outcome.SENT:
                stmt = insert_for(self._db.dialect, PushSend).values(
                    member_id=ask.member_id,
                    key=ask.key,
                    category=ask.category,
                    counts=not ask.bypass,
                    at=at(ask.now),
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=[PushSend.member_id, PushSend.key],
                    set_={"at": stmt.excluded.at, "counts": stmt.excluded.counts},
                )
                await session.execute(stmt)
            return verdict

    async def plan(self, ask: Ask, member_ids: Sequence[int]) -> list[Verdict]:
        asks = [replace(ask, member_id=member_id) for member_id in member_ids]
        verdicts: list[Verdict] = []
        for start in range(0, len(asks), 500):
            chunk = asks[start : start + 500]
            async with self._db.session() as session:
                paused = await self._read_paused(session)
                states = await self._states(session, chunk)
            verdicts += [decide(states[(a.member_id, a.key)], a, paused) for a in chunk]
        return verdicts

    async def release(self, member_id: int, key: str) -> None:
        async with self._locked(_LOCK_MEMBER, member_id) as session:
            await session.execute(
                delete(PushSend).where(PushSend.member_id == member_id, PushSend.key == key)
            )

    async def hold(self, member_id: int, waiting: Waiting) -> None:
        return None

    async def unhold(self, member_id: int, key: str) -> None:
        return None

    async def admit_group(self, chat_key: str, key: str, now: float, cap: int | None) -> Verdict:
        async with self._locked(_LOCK_GROUP, chat_key) as session:
            if await self._read_paused(session):
                return Verdict(Outcome.DEFERRED, Reason.PAUSED)
            await session.execute(
                delete(PushGroupPost).where(
                    PushGroupPost.chat_key == chat_key, PushGroupPost.at <= at(now - DAY)
                )
            )
            rows = await session.execute(
                select(PushGroupPost.key, PushGroupPost.at)
                .where(PushGroupPost.chat_key == chat_key)
                .order_by(PushGroupPost.at)
            )
            posts = [(k, when.timestamp()) for k, when in rows]
            if any(k == key for k, _ in posts):
                return Verdict(Outcome.DROPPED, Reason.DUPLICATE)
            if cap is not None and len(posts) >= cap:
                until = posts[len(posts) - cap][1] + DAY if cap else None
                return Verdict(Outcome.DROPPED, Reason.GROUP_CAP, until)
            session.add(PushGroupPost(chat_key=chat_key, key=key, at=at(now)))
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
        async with self._db.session() as session:
            return await self._read_paused(session)

    async def close(self) -> None:
        return None
