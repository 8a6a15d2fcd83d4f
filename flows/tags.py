"""Member tags, set by flows, buttons and admins; segments filter on them (``tag:<t>``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import bindparam, delete, select

from bot.signals import Signals, TagChange
from storage.bulk import Bulk
from storage.database import Database
from storage.flow_tables import MemberTag
from storage.members import insert_for
from storage.prepared import Prepared

TAG = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,47}$")
_OF_MANY = Prepared(
    select(MemberTag.member_id, MemberTag.tag).where(
        MemberTag.member_id.in_(bindparam("ids", expanding=True))
    )
)


def clean_tag(raw: str) -> str | None:
    """Lower-case, no spaces, up to 48 characters; None when not a valid tag."""
    tag = raw.strip().lower()
    return tag if TAG.match(tag) else None


class TagStore:
    def __init__(self, db: Database, signals: Signals | None = None) -> None:
        self._db = db
        #: told of every change, for platforms that mirror tags (``tags_changed``)
        self._signals = signals
        #: built once per store: building it on every call cost more than running it
        self._add = Bulk(
            insert_for(db.dialect, MemberTag).on_conflict_do_nothing(
                index_elements=[MemberTag.member_id, MemberTag.tag]
            ),
            ("member_id", "tag", "at"),
        )

    async def add(self, member_id: int, tags: Iterable[str], at: datetime) -> None:
        await self.add_many({member_id: tags}, at)

    async def add_many(self, tags: Mapping[int, Iterable[str]], at: datetime) -> None:
        """Tags per member in one INSERT; tags a member already has stay as they were."""
        rows = [(member_id, tag, at) for member_id, names in tags.items() for tag in names]
        if not rows:
            return
        async with self._db.transaction() as conn:
            await self._add.run(conn, rows)
        if self._signals is not None and self._signals.tags_changed.heard:
            for member_id, names in tags.items():
                added = tuple(names)
                if added:
                    self._signals.tags_changed.emit(TagChange(member_id, added=added))

    async def remove(self, member_id: int, tag: str) -> bool:
        async with self._db.session() as session, session.begin():
            result = await session.execute(
                delete(MemberTag).where(MemberTag.member_id == member_id, MemberTag.tag == tag)
            )
            removed = bool(result.rowcount)  # type: ignore[attr-defined]
        if removed and self._signals is not None:
            self._signals.tags_changed.emit(TagChange(member_id, removed=(tag,)))
        return removed

    async def of(self, member_id: int) -> list[str]:
        async with self._db.session() as session:
            stmt = select(MemberTag.tag).where(MemberTag.member_id == member_id).order_by("tag")
            return list((await session.execute(stmt)).scalars())

    async def of_many(self, member_ids: list[int]) -> dict[int, set[str]]:
        out: dict[int, set[str]] = {}
        if not member_ids:
            return out
        async with self._db.reading() as conn:
            for start in range(0, len(member_ids), 500):
                chunk = member_ids[start : start + 500]
                for member_id, tag in await _OF_MANY.all(conn, {"ids": chunk}):
                    out.setdefault(member_id, set()).add(tag)
        return out
