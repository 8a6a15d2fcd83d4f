"""Journey state per member, persisted in ``journeys`` and shared by workers.

Counters change with atomic ``col = col + n`` updates; the engine's own
fields (what was delivered, when the next slot is) are written back in one
batched UPDATE per tick.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from flows import journey_sql
from flows.config import TrustWeights
from flows.trust import SIGNALS, Signals, days_between, weighted_score
from storage.bulk import Bulk
from storage.database import Database
from storage.member_loop import ENGAGING, hold_claim, sync_member_loop
from storage.members import insert_for
from storage.prepared import Prepared

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

#: engine fields the insight funnel copies (see storage.member_loop)
LOOP_FIELDS = frozenset({"trust", "first_offer_at"})
ENGAGING_SET = frozenset(ENGAGING)


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
        return Signals(days_between(self.started_at, now), *_SIGNAL_VALUES(self))

    def score(self, now: datetime, weights: TrustWeights) -> float:
        return weighted_score(weights, days_between(self.started_at, now), *_SIGNAL_VALUES(self))


_COLUMNS = [f.name for f in fields(JourneyState)]
_SIGNAL_VALUES = attrgetter(*SIGNALS)


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
    """Journeys in SQL. With a database that has one user (the simulator) it also
    keeps every journey it has read, current through its own writes, so that a
    member's journey is read once, not at every step (:meth:`Database.row_cache`)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._known: dict[int, JourneyState] | None = db.row_cache("journeys")
        self._saves: dict[tuple[str, ...], Bulk] = {}
        self._open = Prepared(  # on the table, not the ORM class: a Core statement
            # may carry an update's held writes (storage.riders)
            insert_for(db.dialect, _TABLE)
            .on_conflict_do_nothing(index_elements=[_TABLE.c.member_id])
            .returning(*(_TABLE.c[name] for name in _COLUMNS))
        )
        #: kept journeys' fields changed inside the open unit of work, not written yet
        self._dirty: dict[int, set[str]] = {}
        #: the members among them whose unwritten change is their next content slot
        self._dirty_slots: set[int] = set()

    async def open_many(
        self, starts: Sequence[tuple[int, datetime, datetime | None]]
    ) -> dict[int, JourneyState]:
        """Create journeys ``(member_id, started_at, first_value_at)``; existing ones stay.
        Returns the journeys it created (as :meth:`get_many` would read them): a caller
        about to use them need not read them again."""
        if not starts:
            return {}
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
        opened: dict[int, JourneyState] = {}
        # PostgreSQL update unit: the rollup rows are claimed by this very insert (a
        # held write it carries), so the recompute at commit is one statement, not two
        claimed = await hold_claim(self._db, [member_id for member_id, _, _ in starts])
        async with self._db.transaction() as conn:
            for row in await self._open.each(conn, rows):
                state = JourneyState(*row)
                state.seen = list(state.seen or [])
                opened[state.member_id] = state
            if opened:  # journeys there already are unchanged, and so is their rollup
                await sync_member_loop(conn, opened, claimed=claimed)
        if self._known is not None:
            for member_id, state in opened.items():
                self._known[member_id] = _copy(state)
        return opened

    async def get(self, member_id: int) -> JourneyState | None:
        found = await self.get_many([member_id])
        return found.get(member_id)

    async def get_many(self, member_ids: Iterable[int]) -> dict[int, JourneyState]:
        """Journeys by member id (members without one are left out); each call gets
        its own objects to change."""
        out: dict[int, JourneyState] = {}
        missing = list(member_ids)
        known = self._known
        if known is not None:
            wanted, missing = missing, []
            for member_id in wanted:
                state = known.get(member_id)
                if state is None:
                    missing.append(member_id)
                else:
                    out[member_id] = _copy(state)
        if not missing:
            return out
        async with (self._db.lookup if len(missing) <= _FEW else self._db.reading)() as conn:
            for chunk in _chunks(missing, 500):
                for row in await _SELECT_MANY.all(conn, {"ids": chunk}):
                    state = JourneyState(*row)
                    state.seen = list(state.seen or [])
                    out[state.member_id] = state
                    if known is not None:
                        known[state.member_id] = _copy(state)
        return out

    async def by_code(self, code: str) -> int | None:
        async with self._db.reading() as conn:
            stmt = select(_TABLE.c.member_id).where(_TABLE.c.referral_code == code.upper())
            return (await conn.execute(stmt)).scalar_one_or_none()

    async def bump(self, counts: dict[tuple[int, str], int], at: datetime) -> None:
        """Add to signal counters atomically: ``{(member_id, signal): n}``."""
        for _, signal in counts:
            if signal not in SIGNALS:
                raise ValueError(f"unknown trust signal {signal!r}; known: {', '.join(SIGNALS)}")
        if self._known is not None:
            kept: dict[int, set[str]] = {}
            for (member_id, signal), n in counts.items():
                if (state := self._known.get(member_id)) is not None:
                    setattr(state, signal, getattr(state, signal) + n)
                    state.updated_at = at
                    kept.setdefault(member_id, {"updated_at"}).add(signal)
            if self._write_later(kept):
                counts = {key: n for key, n in counts.items() if key[0] not in kept}
        by_signal: dict[str, list[dict[str, Any]]] = {}
        for (member_id, signal), n in counts.items():
            by_signal.setdefault(signal, []).append({"b_id": member_id, "b_n": n, "b_at": at})
        if not by_signal:
            return
        async with self._db.transaction() as conn:
            for signal, params in by_signal.items():
                await conn.execute(journey_sql.BUMPS[signal], params)
            engaging = (member_id for member_id, signal in counts if signal in ENGAGING)
            await sync_member_loop(conn, engaging)

    async def save(
        self, states: Iterable[JourneyState], names: Sequence[str] = ENGINE_FIELDS
    ) -> None:
        """Write the engine's fields back in one batched UPDATE."""
        states = list(states)
        names = tuple(names)
        if self._known is not None:
            kept: dict[int, set[str]] = {}
            for state in states:
                if (known := self._known.get(state.member_id)) is not None:
                    for name in names:
                        setattr(known, name, _copy_value(getattr(state, name)))
                    kept[state.member_id] = set(names)
            if self._write_later(kept):
                states = [state for state in states if state.member_id not in kept]
        await self._write(states, names)

    async def _write(self, states: Sequence[JourneyState], names: tuple[str, ...]) -> None:
        if not states:
            return
        write = self._saves.get(names)
        if write is None:
            stmt = (
                update(_TABLE)
                .where(_TABLE.c.member_id == bindparam("b_id"))
                .values({name: bindparam(f"b_{name}") for name in names})
            )
            write = self._saves[names] = Bulk(stmt, ["b_id", *(f"b_{name}" for name in names)])
        values = attrgetter("member_id", *names)
        async with self._db.transaction() as conn:
            await write.run(conn, [values(state) for state in states])
            if LOOP_FIELDS.intersection(names):
                await sync_member_loop(conn, (state.member_id for state in states))

    def _write_later(self, changed: dict[int, set[str]]) -> bool:
        """Inside a unit of work, note the kept journeys' changed fields and write them
        once, when the unit commits (or before a claim reads them); True then."""
        if not changed or not self._db.at_commit(self._write_kept, changed):
            return False
        for member_id, names in changed.items():
            self._dirty.setdefault(member_id, set()).update(names)
            if "next_value_at" in names:
                self._dirty_slots.add(member_id)
        return True

    async def _write_kept(
        self, conn: AsyncConnection, member_ids: list[int], only: str | None = None
    ) -> None:
        """Write the noted fields (or just the field ``only``) of these kept journeys:
        one UPDATE per set of fields."""
        assert self._known is not None
        groups: dict[tuple[str, ...], list[JourneyState]] = {}
        for member_id in member_ids:
            noted = self._dirty.get(member_id, set())
            if only is None:
                names = self._dirty.pop(member_id, noted)
            else:
                names = noted & {only}
                noted -= names
            if "next_value_at" in names:
                self._dirty_slots.discard(member_id)
            state = self._known.get(member_id)
            if names and state is not None:
                groups.setdefault(tuple(sorted(names)), []).append(state)
        for written, group in groups.items():
            await self._write(group, written)
            if ENGAGING_SET.intersection(written):
                await sync_member_loop(conn, (state.member_id for state in group))

    async def claim_cadence(
        self, now: datetime, lease: timedelta, limit: int, after: datetime | None = None
    ) -> list[int]:
        """Members whose next content slot is due (after ``after``), leased (one UPDATE)
        so other workers skip them."""
        async with self._db.transaction() as conn:
            await self._flush_slots(conn)
            params = {
                "now": now,
                "until": now + lease,
                "limit": limit,
                "after": after or journey_sql.EARLIEST,
            }
            claimed = sorted(await journey_sql.CLAIM_CADENCE.scalars(conn, params))
        self._leased(claimed, now + lease)
        return claimed

    async def claim_late_cadence(
        self, cutoff: datetime, now: datetime, lease: timedelta, limit: int
    ) -> list[tuple[int, datetime]]:
        """Slots due by ``cutoff`` (the backlog of a downtime), oldest first, leased, each
        with the time it was due: how late it is decides whether it still runs."""
        async with self._db.transaction() as conn:
            await self._flush_slots(conn)
            rows = await journey_sql.LATE_SLOTS.all(conn, {"cutoff": cutoff, "limit": limit})
            if not rows:
                return []
            due = {member_id: at for member_id, at in rows}
            params = {"ids": list(due), "cutoff": cutoff, "until": now + lease}
            claimed = sorted(await journey_sql.LEASE_LATE.scalars(conn, params))
        self._leased(claimed, now + lease)
        return sorted(((mid, due[mid]) for mid in claimed), key=lambda pair: (pair[1], pair[0]))

    async def _flush_slots(self, conn: AsyncConnection) -> None:
        """Slots the unit of work has not written yet must be in the table a claim reads."""
        if self._dirty_slots:
            await self._write_kept(conn, sorted(self._dirty_slots), only="next_value_at")

    def _leased(self, claimed: list[int], until: datetime) -> None:
        if self._known is not None:
            for member_id in claimed:
                if (state := self._known.get(member_id)) is not None:
                    state.next_value_at = until

    async def with_birthday(self, month_day: str) -> list[int]:
        async with self._db.reading() as conn:
            stmt = select(_TABLE.c.member_id).where(_TABLE.c.birthday == month_day)
            return list((await conn.execute(stmt)).scalars())

    async def set_birthday(self, member_id: int, month_day: str | None) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                update(_TABLE).where(_TABLE.c.member_id == member_id).values(birthday=month_day)
            )
        if self._known is not None and (state := self._known.get(member_id)) is not None:
            state.birthday = month_day


_TABLE = journey_sql.TABLE
#: up to this many journeys (an update's own member) are read by key on the loop's thread
_FEW = 20
_SELECT_MANY = Prepared(
    select(*(_TABLE.c[name] for name in _COLUMNS)).where(
        _TABLE.c.member_id.in_(bindparam("ids", expanding=True))
    )
)


def _copy_value(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


_VALUES = attrgetter(*_COLUMNS)


def _copy(state: JourneyState) -> JourneyState:
    copy = JourneyState(*_VALUES(state))
    copy.seen = list(state.seen)
    if state.pending is not None:
        copy.pending = dict(state.pending)
    return copy


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
