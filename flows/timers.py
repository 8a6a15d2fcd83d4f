"""Flow timers: steps due at a time, stored as rows so they survive restarts.

``schedule`` is idempotent through the unique ``key``; ``claim_due`` marks
rows fired in the same transaction that selects them (an UPDATE … WHERE
fired = false), so each timer fires once even with several workers calling
``tick``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, select, update

from flows.definition import FlowDef
from storage.database import Database
from storage.flow_tables import FlowTimer
from storage.members import insert_for


@dataclass(frozen=True, slots=True)
class Timer:
    id: int
    key: str
    member_id: int
    flow: str
    step: str
    due_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewTimer:
    key: str
    member_id: int
    flow: str
    step: str
    due_at: datetime
    payload: dict[str, Any]


class TimerStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def schedule(self, timers: Sequence[NewTimer]) -> None:
        if not timers:
            return
        rows = [
            {
                "key": t.key,
                "member_id": t.member_id,
                "flow": t.flow,
                "step": t.step,
                "due_at": t.due_at,
                "fired": False,
                "fired_at": None,
                "payload": t.payload,
            }
            for t in timers
        ]
        stmt = insert_for(self._db.dialect, FlowTimer).on_conflict_do_nothing(
            index_elements=[FlowTimer.key]
        )
        async with self._db.session() as session, session.begin():
            await session.execute(stmt, rows)

    async def claim_due(self, now: datetime, limit: int = 500) -> list[Timer]:
        table = FlowTimer.__table__
        due = (
            select(table.c.id)
            .where(table.c.fired.is_(False), table.c.due_at <= now)
            .order_by(table.c.due_at, table.c.id)
            .limit(limit)
            .scalar_subquery()
        )
        stmt = (
            update(table)  # type: ignore[arg-type]
            .where(and_(table.c.id.in_(due), table.c.fired.is_(False)))
            .values(fired=True, fired_at=now)
            .returning(*_columns(table))
        )
        async with self._db.session() as session, session.begin():
            timers = [Timer(*row) for row in (await session.execute(stmt)).all()]
        return sorted(timers, key=lambda t: (t.due_at, t.id))

    async def claim_keys(self, keys: Sequence[str], now: datetime) -> list[Timer]:
        """Claim specific due timers (steps that run at once when a flow starts)."""
        if not keys:
            return []
        table = FlowTimer.__table__
        async with self._db.session() as session, session.begin():
            rows = await session.execute(
                update(table)  # type: ignore[arg-type]
                .where(table.c.key.in_(list(keys)), table.c.fired.is_(False), table.c.due_at <= now)
                .values(fired=True, fired_at=now)
                .returning(*_columns(table))
            )
            timers = [Timer(*row) for row in rows.all()]
        order = {key: index for index, key in enumerate(keys)}
        return sorted(timers, key=lambda t: order[t.key])

    async def retry_many(self, retries: Sequence[tuple[int, datetime]]) -> None:
        """Put fired timers back at new times (the gate deferred their messages)."""
        if not retries:
            return
        table = FlowTimer.__table__
        stmt = (
            update(table)  # type: ignore[arg-type]
            .where(table.c.id == bindparam("b_id"))
            .values(fired=False, fired_at=None, due_at=bindparam("b_due"))
        )
        async with self._db.session() as session, session.begin():
            await (await session.connection()).execute(
                stmt, [{"b_id": timer_id, "b_due": due} for timer_id, due in retries]
            )

    async def pending(self, member_id: int) -> list[Timer]:
        table = FlowTimer.__table__
        async with self._db.session() as session:
            rows = await session.execute(
                select(*_columns(table))
                .where(table.c.member_id == member_id, table.c.fired.is_(False))
                .order_by(table.c.due_at)
            )
            return [Timer(*row) for row in rows.all()]


def _columns(table: Any) -> list[Any]:
    return [
        table.c[name] for name in ("id", "key", "member_id", "flow", "step", "due_at", "payload")
    ]


def timer_key(flow: FlowDef, member_id: int, instance: str, step: str) -> str:
    """One key per (flow version, member, flow instance, step): scheduling twice is a no-op."""
    return f"{flow.name}.v{flow.version}:{member_id}:{instance}:{step}"[:160]
