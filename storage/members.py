"""Member, chat and interaction repositories: the contract and the SQL backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import Any, Protocol, cast

from sqlalchemy import Select, Table, bindparam, func, insert, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.database import Database
from storage.member_loop import sync_member_loop
from storage.prepared import Prepared
from storage.records import MemberRecord
from storage.refs import ChatRef, UserRef
from storage.tables import Chat, ChatMembership, Interaction, Member


class MemberRepository(Protocol):
    async def touch(self, user: UserRef, at: datetime) -> MemberRecord:
        """Create the member on first sight, else refresh name and last-seen."""

    async def get(self, platform: str, user_id: str) -> MemberRecord | None: ...

    async def get_by_id(self, member_id: int) -> MemberRecord | None: ...

    async def find(self, platform: str, handle: str) -> MemberRecord | None:
        """A member as an admin names them: user id, or username with or without ``@``."""

    async def get_many(self, ids: Sequence[int]) -> dict[int, MemberRecord]:
        """Records by id, in batches, for fan-out and timers."""

    async def update(self, member_id: int, **fields: Any) -> MemberRecord:
        """Set columns (language, time_zone, opted_out, reachable, …)."""

    async def mark_started(self, member: MemberRecord) -> MemberRecord:
        """The member started the bot (``started_bot``); returns the record with it set."""

    async def set_source_once(
        self, member_id: int, source: str | None, referrer: str | None
    ) -> None:
        """Record where the member came from; the first source wins."""

    async def count(self) -> int: ...

    async def reachable_ids(self, after_id: int = 0, limit: int = 1000) -> list[int]:
        """Ids of members the bot can DM, in id order, for batched fan-out."""


class ChatRepository(Protocol):
    async def touch(self, chat: ChatRef, at: datetime) -> int: ...

    async def joined(self, chat: ChatRef, member_id: int, at: datetime) -> None: ...

    async def left(self, chat: ChatRef, member_id: int, at: datetime) -> None: ...


class InteractionLog(Protocol):
    async def record(
        self,
        member_id: int | None,
        kind: str,
        at: datetime,
        chat_id: str | None = None,
        detail: dict[str, Any] | None = None,
        *,
        member: MemberRecord | None = None,
    ) -> None:
        """``member``: the member's current record when the caller holds one (those who
        listen to the log, like the flows' trigger, need not read it again)."""


_RECORD_FIELDS = [field.name for field in dataclass_fields(MemberRecord)]
_SELECT_MANY = Prepared(
    select(*(Member.__table__.c[name] for name in _RECORD_FIELDS)).where(
        Member.__table__.c.id.in_(bindparam("ids", expanding=True))
    )
)
_SELECT_ONE = select(*(Member.__table__.c[name] for name in _RECORD_FIELDS)).where(
    Member.__table__.c.id == bindparam("id")
)
_INTERACTIONS = cast(Table, Interaction.__table__)
#: bind names of its own (``ia_``): it may ride on another statement (storage.riders)
_INSERT_INTERACTION = insert(_INTERACTIONS).values(
    {
        _INTERACTIONS.c[name]: bindparam(f"ia_{name}", type_=_INTERACTIONS.c[name].type)
        for name in ("member_id", "kind", "at", "chat_id", "detail")
    }
)
#: member columns the insight funnel copies (see storage.member_loop)
LOOP_FIELDS = frozenset({"source", "referrer_code", "joined_at"})


def insert_for(dialect: str, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on this dialect."""
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


@cache  # built once per dialect
def _touch(dialect: str) -> Prepared:
    """Insert the member, or refresh the name and last-seen of the one there."""
    table = Member.__table__
    upsert = insert_for(dialect, table)
    return Prepared(
        upsert.on_conflict_do_update(
            index_elements=[table.c.platform, table.c.user_id],
            set_={
                "display_name": upsert.excluded.display_name,
                "username": upsert.excluded.username,
                "last_seen_at": upsert.excluded.last_seen_at,
            },
        ).returning(*(table.c[name] for name in _RECORD_FIELDS))
    )


_MEMBERS = cast(Table, Member.__table__)
#: :meth:`SqlMemberRepository.mark_started`'s write, with a bind name of its own
_MARK_STARTED = (
    update(_MEMBERS).where(_MEMBERS.c.id == bindparam("started_member")).values(started_bot=true())
)


@cache  # built once per set of columns
def _update(names: tuple[str, ...]) -> Prepared:
    """:meth:`SqlMemberRepository.update`'s statement setting the columns ``names``."""
    table = cast(Table, Member.__table__)
    return Prepared(
        update(table)
        .where(table.c.id == bindparam("member"))
        .values({table.c[name]: bindparam(f"new_{name}") for name in names})
        .returning(*(table.c[name] for name in _RECORD_FIELDS))
    )


def to_record(row: Member) -> MemberRecord:
    return MemberRecord(
        id=row.id,
        platform=row.platform,
        user_id=row.user_id,
        display_name=row.display_name,
        username=row.username,
        language=row.language,
        time_zone=row.time_zone,
        source=row.source,
        referrer_code=row.referrer_code,
        joined_at=row.joined_at,
        last_seen_at=row.last_seen_at,
        started_bot=row.started_bot,
        opted_out=row.opted_out,
        reachable=row.reachable,
    )


class SqlMemberRepository:
    """Members in SQL. With a database that has one user (the simulator) the records
    read by :meth:`get_many` are kept, and replaced by this repository's own writes."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._known: dict[int, MemberRecord] | None = db.row_cache("members")

    async def touch(self, user: UserRef, at: datetime) -> MemberRecord:
        values = {
            "platform": user.platform,
            "user_id": user.id,
            "display_name": user.display_name,
            "username": user.username,
            "language": _language(user.language_code),
            "joined_at": at,
            "last_seen_at": at,
            "started_bot": False,
            "opted_out": False,
            "reachable": True,
        }
        async with self._db.transaction() as conn:
            row = await _touch(self._db.dialect).one(conn, values)
        record = MemberRecord(*row)
        if self._known is not None:
            self._known[record.id] = record
        return record

    async def get(self, platform: str, user_id: str) -> MemberRecord | None:
        return await self._one(
            select(Member).where(Member.platform == platform, Member.user_id == user_id)
        )

    async def get_by_id(self, member_id: int) -> MemberRecord | None:
        async with self._db.lookup() as conn:
            row = (await conn.execute(_SELECT_ONE, {"id": member_id})).first()
        return MemberRecord(*row) if row is not None else None

    async def find(self, platform: str, handle: str) -> MemberRecord | None:
        # the user id first (on Telegram a number, never a username), then the
        # username, case-insensitive; the most recently seen holder wins a stale clash
        name = handle.strip().removeprefix("@")
        if not name:
            return None
        found = await self.get(platform, name)
        if found is not None:
            return found
        stmt = (
            select(Member)
            .where(Member.platform == platform, func.lower(Member.username) == name.lower())
            .order_by(Member.last_seen_at.desc())
            .limit(1)
        )
        return await self._one(stmt)

    async def get_many(self, ids: Sequence[int]) -> dict[int, MemberRecord]:
        out: dict[int, MemberRecord] = {}
        missing = list(ids)
        known = self._known
        if known is not None:
            wanted, missing = missing, []
            for member_id in wanted:
                if (record := known.get(member_id)) is None:
                    missing.append(member_id)
                else:
                    out[member_id] = record
        if not missing:
            return out
        # plain columns: no ORM identity map to fill for thousands of rows
        async with self._db.reading() as conn:
            for start in range(0, len(missing), 500):
                chunk = missing[start : start + 500]
                for row in await _SELECT_MANY.all(conn, {"ids": chunk}):
                    record = MemberRecord(*row)
                    out[record.id] = record
                    if known is not None:
                        known[record.id] = record
        return out

    async def update(self, member_id: int, **fields: Any) -> MemberRecord:
        stmt = _update(tuple(sorted(fields)))
        params = {f"new_{name}": value for name, value in fields.items()}
        params["member"] = member_id
        async with self._db.transaction() as conn:
            record = MemberRecord(*(await stmt.one(conn, params)))
            if LOOP_FIELDS.intersection(fields):
                await sync_member_loop(conn, [member_id], referrers=True)
        if self._known is not None:
            self._known[member_id] = record
        return record

    async def mark_started(self, member: MemberRecord) -> MemberRecord:
        # nothing later in the update reads it back from the table: inside an update
        # unit it rides on the unit's next statement (storage.riders, a quiet write)
        await self._db.write(_MARK_STARTED, {"started_member": member.id})
        record = replace(member, started_bot=True)
        if self._known is not None:
            self._known[member.id] = record
        return record

    async def set_source_once(
        self, member_id: int, source: str | None, referrer: str | None
    ) -> None:
        if not source and not referrer:
            return
        async with self._db.session() as session, session.begin():
            if source:
                await session.execute(
                    update(Member)
                    .where(Member.id == member_id, Member.source.is_(None))
                    .values(source=source)
                )
            if referrer:
                await session.execute(
                    update(Member)
                    .where(Member.id == member_id, Member.referrer_code.is_(None))
                    .values(referrer_code=referrer)
                )
            if source or referrer:
                await sync_member_loop(await session.connection(), [member_id], referrers=True)
        if self._known is not None:
            self._known.pop(member_id, None)  # read again when next wanted

    async def count(self) -> int:
        async with self._db.session() as session:
            return int((await session.execute(select(func.count(Member.id)))).scalar_one())

    async def reachable_ids(self, after_id: int = 0, limit: int = 1000) -> list[int]:
        stmt = (
            select(Member.id)
            .where(Member.id > after_id, Member.reachable.is_(True), Member.started_bot.is_(True))
            .order_by(Member.id)
            .limit(limit)
        )
        async with self._db.session() as session:
            return list((await session.execute(stmt)).scalars())

    async def _one(self, stmt: Select[Any]) -> MemberRecord | None:
        async with self._db.session() as session:
            row = (await session.execute(stmt)).scalar_one_or_none()
            return to_record(row) if row is not None else None


class SqlChatRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def touch(self, chat: ChatRef, at: datetime) -> int:
        stmt = insert_for(self._db.dialect, Chat).values(
            platform=chat.platform,
            chat_id=chat.id,
            kind=str(chat.kind),
            title=chat.title,
            created_at=at,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[Chat.platform, Chat.chat_id], set_={"title": stmt.excluded.title}
        ).returning(Chat.id)
        async with self._db.session() as session, session.begin():
            return int((await session.execute(stmt)).scalar_one())

    async def joined(self, chat: ChatRef, member_id: int, at: datetime) -> None:
        chat_pk = await self.touch(chat, at)
        stmt = insert_for(self._db.dialect, ChatMembership).values(
            chat_id=chat_pk, member_id=member_id, joined_at=at, left_at=None, active=True
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[ChatMembership.chat_id, ChatMembership.member_id],
            set_={"active": True, "left_at": None},
        )
        async with self._db.session() as session, session.begin():
            await session.execute(stmt)

    async def left(self, chat: ChatRef, member_id: int, at: datetime) -> None:
        chat_pk = await self.touch(chat, at)
        async with self._db.session() as session, session.begin():
            await session.execute(
                update(ChatMembership)
                .where(ChatMembership.chat_id == chat_pk, ChatMembership.member_id == member_id)
                .values(active=False, left_at=at)
            )


class SqlInteractionLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        member_id: int | None,
        kind: str,
        at: datetime,
        chat_id: str | None = None,
        detail: dict[str, Any] | None = None,
        *,
        member: MemberRecord | None = None,
    ) -> None:
        values = {
            "ia_member_id": member_id,
            "ia_kind": kind,
            "ia_at": at,
            "ia_chat_id": chat_id,
            "ia_detail": detail or {},
        }
        # nothing an update does after logging reads the log back: on PostgreSQL the
        # insert rides on the update's next statement (Database.write)
        await self._db.write(_INSERT_INTERACTION, values)


def _language(code: str | None) -> str | None:
    if not code:
        return None
    return (
        "zh"
        if code.lower().startswith("zh")
        else "en"
        if code.lower().startswith("en")
        else code[:8]
    )
