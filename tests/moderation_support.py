"""Shared helpers for the community-feature tests on the local adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from harness import LocalBot, make_config
from sqlalchemy import String, Text, select

import moderation
from bot.adapters.local import Action, LocalAdapter
from bot.adapters.local_platform import local_config
from bot.app import App
from bot.callbacks import install_callbacks
from bot.clock import ManualClock
from bot.config.model import WarmlineConfig
from bot.events import OutgoingMessage, ReplyRef, UserRef
from bot.router import Router
from handlers import admin, admin_lists, fallback, help, member, start
from moderation.install import install_community
from storage.models import metadata
from storage.records import MemberRecord


def community_routers(*extra: Router) -> list[Router]:
    """The shared routers and this feature's, in the order the features include them."""
    return [
        *moderation.routers,
        start.router,
        help.router,
        member.router,
        admin.router,
        admin_lists.router,
        *extra,
        fallback.router,
    ]


@asynccontextmanager
async def community_bot(
    config: WarmlineConfig, *extra: Router, **app_kwargs: Any
) -> AsyncIterator[LocalBot]:
    """A started App with only the core and the community feature installed,
    so these tests do not depend on other features being configured."""
    adapter = LocalAdapter(local_config(config).bot_username, admins=config.bot.admins)
    app = App(
        config,
        adapter=adapter,
        routers=community_routers(*extra),
        install_features=False,
        **app_kwargs,
    )
    install_callbacks(app)
    install_community(app)
    if app.database.dialect != "sqlite":
        await app.database.migrate()
    await app.start()
    try:
        yield LocalBot(app, adapter)
    finally:
        await app.stop()


def moderation_config(url: str, **moderation: Any) -> WarmlineConfig:
    return make_config(url, moderation=moderation)


def now_clock() -> ManualClock:
    """A virtual clock starting at the real time (local events carry real timestamps)."""
    return ManualClock(datetime.now(UTC))


def actions(bot: LocalBot, kind: str, since: int = 0) -> list[Action]:
    return [a for a in bot.adapter.log[since:] if a.kind == kind]


def buttons_of(message: OutgoingMessage) -> list[tuple[str, str]]:
    return [(b.text, b.data or "") for row in message.buttons for b in row]


async def say_in_group(
    bot: LocalBot, user: UserRef, text: str, reply_to: UserRef | None = None
) -> list[Action]:
    """Post in the test group; returns every action the bot took."""
    before = len(bot.adapter.log)
    reply = ReplyRef("9999", reply_to, "the message") if reply_to is not None else None
    await bot.deliver(bot.adapter.message(user, bot.group, text, reply_to=reply))
    return bot.adapter.log[before:]


def texts(found: list[Action]) -> list[str]:
    return [a.message.text for a in found if a.kind == "send" and a.message]


async def rows_about(app: App, member: MemberRecord) -> dict[str, int]:
    """Every row in any table whose member column or any text column is the member."""
    found: dict[str, int] = {}
    async with app.database.session() as session:
        for table in metadata.sorted_tables:
            if table.name == "processed_updates":
                continue
            conditions = []
            for column in table.columns:
                if column.name == "member_id" or (
                    column.foreign_keys
                    and any(fk.column.table.name == "members" for fk in column.foreign_keys)
                ):
                    conditions.append(column == member.id)
                elif isinstance(column.type, String | Text):
                    conditions.append(column == member.user_id)
            if table.name == "members":
                conditions.append(table.c.id == member.id)
            for condition in conditions:
                rows = (await session.execute(select(table).where(condition))).all()
                if rows:
                    found[table.name] = found.get(table.name, 0) + len(rows)
    return found
