"""Everything stored about one member: export it (``/mydata``) or erase it (``/forgetme``).

Tables are discovered from the metadata, not listed, so tables added by any
feature are covered: a table is *about a member* when it has a ``member_id``
column, a foreign key to ``members.id``, or a ``(platform, user_id)`` pair.

What happens on erase is a table's choice, declared in
``__table_args__ = ({"info": {"privacy": {...}}},)``:

- ``on_forget: delete`` (default) — the rows go.
- ``on_forget: anonymise`` — the rows stay without identity: member columns
  are set to NULL (or, when NOT NULL, re-pointed to one shared *forgotten
  member* placeholder), ``clear`` columns are set to NULL, and columns named in
  ``user_columns`` are cleared where they hold the member's platform user id.
  ``kept`` is the catalog key that tells the member what was kept and why.

Redis keys about the member are found by convention: a key segment ``m<id>``,
``member:<id>``, a hash tag ``{<id>}`` (the push gate's ``wl:push:{42}:log``) or
``<platform>:<user_id>`` (e.g. ``wl:flood:-100:telegram:42``).
Other stores register a :class:`MemberDataHook`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import Column, ColumnElement, MetaData, Table, delete, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.database import Database
from storage.member_loop import referrers_of, sync_member_loop
from storage.members import insert_for
from storage.records import MemberRecord
from storage.tables import Member

FORGOTTEN_PLATFORM = "forgotten"
FORGOTTEN_USER = "0"
#: Redis prefixes that never hold personal data (the update ledger's ids)
_REDIS_SKIP = ("wl:upd:",)

#: legal retention for tables whose owners did not declare a policy
DEFAULT_POLICIES: Mapping[str, Mapping[str, Any]] = {
    "orders": {"on_forget": "anonymise", "clear": [], "kept": "privacy.kept.orders"},
}


@dataclass(frozen=True, slots=True)
class Policy:
    on_forget: str = "delete"
    clear: tuple[str, ...] = ()
    user_columns: tuple[str, ...] = ()
    kept: str | None = None


@dataclass(frozen=True, slots=True)
class PersonalTable:
    table: Table
    member_columns: tuple[Column[Any], ...]
    has_user_pair: bool
    policy: Policy

    def condition(self, member: MemberRecord) -> ColumnElement[bool]:
        parts: list[ColumnElement[bool]] = [col == member.id for col in self.member_columns]
        if self.has_user_pair:
            columns = self.table.c
            parts.append(
                (columns.platform == member.platform) & (columns.user_id == member.user_id)
            )
        return or_(*parts) if parts else false()


@dataclass
class ForgetReport:
    deleted: dict[str, int] = field(default_factory=dict)
    anonymised: dict[str, int] = field(default_factory=dict)
    #: catalog keys explaining what was kept and why
    kept: list[str] = field(default_factory=list)
    redis_keys: int = 0


@dataclass(frozen=True, slots=True)
class MemberDataHook:
    """A non-SQL store with data about members (in-memory counters, caches…)."""

    name: str
    export: Callable[[MemberRecord], Awaitable[Any]]
    erase: Callable[[MemberRecord], Awaitable[None]]


def _policy(table: Table) -> Policy:
    raw = table.info.get("privacy") or DEFAULT_POLICIES.get(table.name) or {}
    return Policy(
        on_forget=str(raw.get("on_forget", "delete")),
        clear=tuple(raw.get("clear", ())),
        user_columns=tuple(raw.get("user_columns", ())),
        kept=raw.get("kept"),
    )


def personal_tables(metadata: MetaData) -> list[PersonalTable]:
    """Tables holding rows about a member, children before parents, ``members`` last."""
    found: list[PersonalTable] = []
    for table in reversed(metadata.sorted_tables):
        if table.name == Member.__tablename__:
            continue
        member_columns = tuple(
            col
            for col in table.columns
            if col.name == "member_id"
            or any(fk.column.table.name == Member.__tablename__ for fk in col.foreign_keys)
        )
        has_pair = "platform" in table.c and "user_id" in table.c
        if member_columns or has_pair:
            found.append(PersonalTable(table, member_columns, has_pair, _policy(table)))
    return found


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    return value


class MemberData:
    """Export and erase across every table, Redis, and registered stores."""

    def __init__(
        self,
        db: Database,
        metadata: MetaData,
        redis: Redis | None = None,
        hooks: list[MemberDataHook] | None = None,
    ) -> None:
        self._db = db
        self._metadata = metadata
        self._redis = redis
        self.hooks: list[MemberDataHook] = list(hooks or [])

    def add_hook(self, hook: MemberDataHook) -> None:
        self.hooks.append(hook)

    async def export(self, member: MemberRecord) -> dict[str, Any]:
        tables: dict[str, list[dict[str, Any]]] = {}
        async with self._db.session() as session:
            row = (
                (await session.execute(select(Member.__table__).where(Member.id == member.id)))
                .mappings()
                .first()
            )
            tables[Member.__tablename__] = [jsonable(dict(row))] if row else []
            for personal in personal_tables(self._metadata):
                rows = (
                    await session.execute(select(personal.table).where(personal.condition(member)))
                ).mappings()
                found = [jsonable(dict(r)) for r in rows]
                if found:
                    tables[personal.table.name] = found
        document: dict[str, Any] = {"member": {"platform": member.platform, "id": member.user_id}}
        document["tables"] = tables
        if self._redis is not None:
            document["redis"] = await self._export_redis(member)
        for hook in self.hooks:
            document.setdefault("stores", {})[hook.name] = jsonable(await hook.export(member))
        return document

    async def forget(self, member: MemberRecord) -> ForgetReport:
        report = ForgetReport()
        async with self._db.session() as session, session.begin():
            placeholder: int | None = None
            referrers = await referrers_of(await session.connection(), [member.id])
            for personal in personal_tables(self._metadata):
                anonymise = personal.policy.on_forget == "anonymise"
                if anonymise and personal.member_columns:
                    nullable = all(col.nullable for col in personal.member_columns)
                    if not nullable and placeholder is None:
                        placeholder = await self._placeholder(session, member)
                    count = await self._anonymise(session, personal, member, placeholder)
                    if count:
                        report.anonymised[personal.table.name] = count
                        if personal.policy.kept and personal.policy.kept not in report.kept:
                            report.kept.append(personal.policy.kept)
                else:
                    result = await session.execute(
                        delete(personal.table).where(personal.condition(member))
                    )
                    if result.rowcount:  # type: ignore[attr-defined]
                        report.deleted[personal.table.name] = int(result.rowcount)  # type: ignore[attr-defined]
                await self._clear_user_columns(session, personal, member)
            await session.execute(delete(Member).where(Member.id == member.id))
            report.deleted[Member.__tablename__] = 1
            # the funnel's copy: one friend fewer, orders kept under the placeholder
            moved = [placeholder] if placeholder is not None else []
            await sync_member_loop(await session.connection(), [*referrers, *moved])
        if self._redis is not None:
            report.redis_keys = await self._forget_redis(member)
        for hook in self.hooks:
            await hook.erase(member)
        return report

    async def _anonymise(
        self,
        session: AsyncSession,
        personal: PersonalTable,
        member: MemberRecord,
        placeholder: int | None,
    ) -> int:
        values: dict[str, Any] = {name: None for name in personal.policy.clear}
        for col in personal.member_columns:
            values[col.name] = None if col.nullable else placeholder
        stmt = update(personal.table).where(personal.condition(member)).values(**values)
        return int((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def _clear_user_columns(
        self, session: AsyncSession, personal: PersonalTable, member: MemberRecord
    ) -> None:
        """Null other roles' user ids (e.g. the admin who acted) that are this member."""
        columns = personal.table.c
        for name in personal.policy.user_columns:
            where = columns[name] == member.user_id
            if "platform" in columns:
                where = where & (columns.platform == member.platform)
            await session.execute(update(personal.table).where(where).values({name: None}))

    async def _placeholder(self, session: AsyncSession, member: MemberRecord) -> int:
        """The one shared member that anonymised NOT NULL rows point to."""
        now = member.last_seen_at
        stmt = (
            insert_for(self._db.dialect, Member)
            .values(
                platform=FORGOTTEN_PLATFORM,
                user_id=FORGOTTEN_USER,
                display_name="",
                joined_at=now,
                last_seen_at=now,
                started_bot=False,
                opted_out=True,
                reachable=False,
            )
            .on_conflict_do_nothing()
        )
        await session.execute(stmt)
        found = await session.execute(
            select(Member.id).where(
                Member.platform == FORGOTTEN_PLATFORM, Member.user_id == FORGOTTEN_USER
            )
        )
        return int(found.scalar_one())

    # -- Redis ----------------------------------------------------------------
    def _redis_pattern(self, member: MemberRecord) -> re.Pattern[str]:
        ids = "|".join(
            (
                f"m{member.id}",
                f"member:{member.id}",
                rf"\{{{member.id}\}}",
                f"{re.escape(member.platform)}:{re.escape(member.user_id)}",
            )
        )
        return re.compile(rf"(^|:)({ids})(:|$)")

    async def _member_keys(self, member: MemberRecord) -> list[str]:
        assert self._redis is not None
        pattern = self._redis_pattern(member)
        keys: list[str] = []
        async for raw in self._redis.scan_iter(count=1000):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            if not key.startswith(_REDIS_SKIP) and pattern.search(key):
                keys.append(key)
        return keys

    async def _export_redis(self, member: MemberRecord) -> dict[str, Any]:
        assert self._redis is not None
        out: dict[str, Any] = {}
        for key in await self._member_keys(member):
            kind = await self._redis.type(key)
            kind = kind.decode() if isinstance(kind, bytes) else str(kind)
            value: Any
            if kind == "string":
                value = await self._redis.get(key)
            elif kind == "hash":
                value = await self._redis.hgetall(key)
            elif kind == "zset":
                value = await self._redis.zrange(key, 0, 99, withscores=True)
            elif kind == "set":
                value = list(await self._redis.smembers(key))
            elif kind == "list":
                value = await self._redis.lrange(key, 0, 99)
            else:
                value = None
            out[key] = {"type": kind, "value": _decode(value)}
        return out

    async def _forget_redis(self, member: MemberRecord) -> int:
        assert self._redis is not None
        keys = await self._member_keys(member)
        if keys:
            await self._redis.delete(*keys)
        return len(keys)


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {_decode(k): _decode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_decode(v) for v in value]
    return value
