"""The window ledger: may the bot still write to this person, and taking a slot.

Every step is one conditional statement, so workers sharing the database
never use one slot twice: ``take`` increments ``used`` only while the window
is open and not full, and reports whether it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select, update

from storage.database import Database
from storage.members import insert_for
from storage.window_tables import AdapterState, DmWindow

#: "no count" in a window rule
UNLIMITED = 1 << 30


@dataclass(frozen=True, slots=True)
class Window:
    """A platform's rule: at most ``messages`` within ``span`` after the person wrote."""

    span: timedelta
    messages: int

    @classmethod
    def of(cls, span: timedelta, messages: int | None) -> Window:
        """The rule as an adapter states it (``messages`` None: no count)."""
        return cls(span, UNLIMITED if messages is None else messages)


@dataclass(frozen=True, slots=True)
class WindowState:
    opened_at: datetime
    used: int

    def open_until(self, rule: Window) -> datetime:
        return self.opened_at + rule.span

    def allows(self, rule: Window, now: datetime) -> bool:
        return now < self.open_until(rule) and self.used < rule.messages


class WindowLedger:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def opened(self, platform: str, chat_id: str, at: datetime, by: str) -> None:
        """The person wrote message ``by`` at ``at``: a fresh window, unless that
        message already opened it or a later one is known."""
        c = DmWindow.__table__.c
        stmt = insert_for(self._db.dialect, DmWindow).values(
            platform=platform, chat_id=chat_id, opened_at=at, opened_by=by, used=0
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[c.platform, c.chat_id],
            set_={"opened_at": at, "opened_by": by, "used": 0},
            where=or_(c.opened_at < at, and_(c.opened_at == at, c.opened_by != by)),
        )
        async with self._db.transaction() as conn:
            await conn.execute(stmt)

    async def opened_many(self, platform: str, messages: list[tuple[str, datetime, str]]) -> None:
        """:meth:`opened` for many ``(chat_id, at, by)`` (joined to the caller's unit of
        work where one is open, as in the simulation)."""
        for chat_id, at, by in messages:
            await self.opened(platform, chat_id, at, by)

    async def state(self, platform: str, chat_id: str) -> WindowState | None:
        c = DmWindow.__table__.c
        query = select(c.opened_at, c.used).where(c.platform == platform, c.chat_id == chat_id)
        async with self._db.transaction() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else WindowState(row.opened_at, row.used)

    async def take(self, platform: str, chat_id: str, rule: Window, now: datetime) -> bool:
        """Use one message of the open window; False when closed or full."""
        c = DmWindow.__table__.c
        stmt = (
            update(DmWindow)
            .where(
                c.platform == platform,
                c.chat_id == chat_id,
                c.opened_at > now - rule.span,
                c.used < rule.messages,
            )
            .values(used=c.used + 1)
        )
        async with self._db.transaction() as conn:
            return bool((await conn.execute(stmt)).rowcount)

    async def give_back(self, platform: str, chat_id: str) -> None:
        """A taken slot whose send failed before the platform counted it."""
        c = DmWindow.__table__.c
        stmt = (
            update(DmWindow)
            .where(c.platform == platform, c.chat_id == chat_id, c.used > 0)
            .values(used=c.used - 1)
        )
        async with self._db.transaction() as conn:
            await conn.execute(stmt)


class AdapterStateStore:
    """Named strings an adapter keeps across restarts and shares with workers."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self, name: str) -> str:
        query = select(AdapterState.value).where(AdapterState.name == name)
        async with self._db.transaction() as conn:
            return (await conn.execute(query)).scalar_one_or_none() or ""

    async def save(self, name: str, value: str) -> None:
        now = datetime.now(UTC)
        stmt = insert_for(self._db.dialect, AdapterState).values(
            name=name, value=value, updated_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[AdapterState.__table__.c.name],
            set_={"value": value, "updated_at": now},
        )
        async with self._db.transaction() as conn:
            await conn.execute(stmt)
