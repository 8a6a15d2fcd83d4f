"""Journey state per member, persisted in ``journeys`` and shared by workers.

Counters change with atomic ``col = col + n`` updates; the engine's own
fields (what was delivered, when the next slot is) are written back in one
batched UPDATE per tick.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update

from bot.config.flows import TrustWeights
from flows.trust import SIGNALS, Signals, days_between, trust_score
from storage.database import Database
from storage.flow_tables import Journey
from storage.members import insert_for

#: fields the engine writes back after a tick (counters are never overwritten)
ENGINE_FIELDS = (
    "stage",
    "trust",
    "seen",
    "values_sent",
    "offers_sent",
    "value_since_offer",
    "pending",
    "next_value_at",
    "last_offer_at",
    "first_offer_at",
    "offer_cooldown_s",
    "tier",
    "updated_at",
)


@dataclass(slots=True)
class JourneyState:
    member_id: int
    started_at: datetime
    referral_code: str
    updated_at: datetime
    stage: str = "greeting"
    trust: float = 0.0
    messages: int = 0
    replies: int = 0
    questions: int = 0
    opened: int = 0
    buttons: int = 0
    purchases: int = 0
    declines: int = 0
    complaints: int = 0
    seen: list[str] = field(default_factory=list)
    values_sent: int = 0
    offers_sent: int = 0
    value_since_offer: int = 0
    pending: dict[str, Any] | None = None
    next_value_at: datetime | None = None
    last_offer_at: datetime | None = None
    first_offer_at: datetime | None = None
    offer_cooldown_s: int = 0
    tier: str = "ordinary"
    birthday: str | None = None

    def signals(self, now: datetime) -> Signals:
        return Signals(
            days_between(self.started_at, now), *(getattr(self, name) for name in SIGNALS)
        )

    def score(self, now: datetime, weights: TrustWeights) -> float:
        return trust_score(self.signals(now), weights)


_COLUMNS = [f.name for f in fields(JourneyState)]


def referral_code_for(member_id: int) -> str:
    """Short, unique, not sequential-looking: an invertible scramble of the id, base 36."""
    scrambled = (member_id * 0x9E3779B1 + 0x5BD1E995) % (1 << 40)
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while True:
        scrambled, rest = divmod(scrambled, 36)
        out = digits[rest] + out
        if not scrambled:
            return out.rjust(8, "0")


class JourneyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def open_many(self, starts: Sequence[tuple[int, datetime, datetime | None]]) -> None:
        """Create journeys ``(member_id, started_at, first_value_at)``; existing ones stay."""
        if not starts:
            return
        rows: list[dict[str, Any]] = [
            {
                "member_id": member_id,
                "started_at": at,
                "updated_at": at,
                "referral_code": referral_code_for(member_id),
                "next_value_at": first_value,
                "stage": "greeting",
                "trust": 0.0,
                "seen": [],
                **dict.fromkeys(SIGNALS, 0),
                "values_sent": 0,
                "offers_sent": 0,
                "value_since_offer": 0,
                "offer_cooldown_s": 0,
                "tier": "ordinary",
            }
            for member_id, at, first_value in starts
        ]
        stmt = insert_for(self._db.dialect, Journey).on_conflict_do_nothing(
            index_elements=[Journey.member_id]
        )
        async with self._db.session() as session, session.begin():
            await session.execute(stmt, rows)

    async def get(self, member_id: int) -> JourneyState | None:
        found = await self.get_many([member_id])
        return found.get(member_id)

    async def get_many(self, member_ids: Iterable[int]) -> dict[int, JourneyState]:
        ids = list(member_ids)
        out: dict[int, JourneyState] = {}
        async with self._db.session() as session:
            for chunk in _chunks(ids, 500):
                stmt = select(*(getattr(Journey, name) for name in _COLUMNS)).where(
                    Journey.member_id.in_(chunk)
                )
                for row in (await session.execute(stmt)).all():
                    state = JourneyState(**dict(zip(_COLUMNS, row, strict=True)))
                    state.seen = list(state.seen or [])
                    out[state.member_id] = state
        return out

    async def by_code(self, code: str) -> int | None:
        async with self._db.session() as session:
            stmt = select(Journey.member_id).where(Journey.referral_code == code.upper())
            return (await session.execute(stmt)).scalar_one_or_none()

    async def bump(self, counts: dict[tuple[int, str], int], at: datetime) -> None:
        """Add to signal counters atomically: ``{(member_id, signal): n}``."""
        by_signal: dict[str, list[dict[str, Any]]] = {}
        for (member_id, signal), n in counts.items():
            if signal not in SIGNALS:
                raise ValueError(f"unknown trust signal {signal!r}; known: {', '.join(SIGNALS)}")
            by_signal.setdefault(signal, []).append({"b_id": member_id, "b_n": n, "b_at": at})
        if not by_signal:
            return
        async with self._db.session() as session, session.begin():
            for signal, params in by_signal.items():
                column = getattr(Journey, signal)
                stmt = (
                    update(Journey.__table__)  # type: ignore[arg-type]
                    .where(Journey.__table__.c.member_id == bindparam("b_id"))
                    .values({signal: column + bindparam("b_n"), "updated_at": bindparam("b_at")})
                )
                await (await session.connection()).execute(stmt, params)

    async def save(
        self, states: Iterable[JourneyState], names: Sequence[str] = ENGINE_FIELDS
    ) -> None:
        """Write the engine's fields back in one batched UPDATE."""
        params = [
            {"b_id": state.member_id, **{f"b_{name}": getattr(state, name) for name in names}}
            for state in states
        ]
        if not params:
            return
        table = Journey.__table__
        stmt = (
            update(table)  # type: ignore[arg-type]
            .where(table.c.member_id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in names})
        )
        async with self._db.session() as session, session.begin():
            await (await session.connection()).execute(stmt, params)

    async def claim_cadence(self, now: datetime, lease: timedelta, limit: int) -> list[int]:
        """Members whose next content slot is due, leased (one UPDATE) so other workers skip them."""
        table = Journey.__table__
        due = (
            select(table.c.member_id)
            .where(table.c.next_value_at <= now)
            .order_by(table.c.next_value_at, table.c.member_id)
            .limit(limit)
            .scalar_subquery()
        )
        stmt = (
            update(table)  # type: ignore[arg-type]
            .where(table.c.member_id.in_(due), table.c.next_value_at <= now)
            .values(next_value_at=now + lease)
            .returning(table.c.member_id)
        )
        async with self._db.session() as session, session.begin():
            return sorted((await session.execute(stmt)).scalars())

    async def with_birthday(self, month_day: str) -> list[int]:
        async with self._db.session() as session:
            stmt = select(Journey.member_id).where(Journey.birthday == month_day)
            return list((await session.execute(stmt)).scalars())

    async def set_birthday(self, member_id: int, month_day: str | None) -> None:
        async with self._db.session() as session, session.begin():
            await session.execute(
                update(Journey).where(Journey.member_id == member_id).values(birthday=month_day)
            )


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
