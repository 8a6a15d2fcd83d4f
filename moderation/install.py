"""Wires the community feature into an App: moderation service and guard,
the captcha/cleanup sweeper, member-data export/erase, admin lists."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.features import Feature
from bot.group_greeting import GroupGreeter
from bot.middlewares import MEMBER_LOADER
from handlers.admin_lists import admin_lists
from moderation import routers
from moderation.captcha import sweep
from moderation.captcha_store import CaptchaStore
from moderation.config import ModerationConfig
from moderation.flood import FloodCounter, MemoryFloodCounter, RedisFloodCounter
from moderation.guard import GroupGuard
from moderation.modlog import modlog_page
from moderation.service import Moderation
from moderation.store import ModerationStore
from storage.admin_stats import AdminReader
from storage.models import metadata
from storage.privacy import MemberData, MemberDataHook
from storage.records import MemberRecord

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("warmline.moderation")

#: the guard judges members, so it runs once they are loaded (before the core's windows)
GROUP_GUARD = MEMBER_LOADER + 5
#: how often expired captchas and due deletions are looked for
SWEEP_EVERY = timedelta(seconds=5)


def install_community(app: App) -> None:
    services = app.services
    app.include(*routers, order=10)
    admin_lists(services).add("modlog", modlog_page)
    store = ModerationStore(app.database)
    flood: FloodCounter = RedisFloodCounter(app.redis) if app.redis else MemoryFloodCounter()
    config = app.config.section("moderation", ModerationConfig)
    mod = Moderation(
        config,
        store=store,
        captchas=CaptchaStore(app.database),
        adapter=services.adapter,
        clock=services.clock,
        catalog=services.catalog,
        default_language=app.config.bot.default_language,
        flood=flood,
        bot_admins=app.config.bot.admins,
        feed=app.dispatcher.feed,
        chats=services.chats,
    )
    services.provide(store)
    services.provide(mod)
    services.provide(GroupGreeter(mod.greets_newcomers))
    data = MemberData(app.database, metadata, app.redis)
    if isinstance(flood, MemoryFloodCounter):
        data.add_hook(_flood_hook(flood))
    services.provide(data)
    services.provide(AdminReader(app.database, metadata))

    app.add_middleware(GroupGuard(), order=GROUP_GUARD)

    tasks: list[asyncio.Task[None]] = []

    async def start(_app: App) -> None:
        if config.enabled:
            tasks.append(asyncio.create_task(_sweep_forever(mod), name="moderation-sweeper"))

    async def stop(_app: App) -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        tasks.clear()

    app.on_startup(start)
    app.on_shutdown(stop)


async def _sweep_forever(mod: Moderation) -> None:
    while True:
        await asyncio.sleep(SWEEP_EVERY.total_seconds())
        try:
            await sweep(mod, mod.clock.now())
        except Exception:
            log.exception("moderation sweep failed; retrying in %s", SWEEP_EVERY)


def _flood_hook(flood: MemoryFloodCounter) -> MemberDataHook:
    """The in-memory flood counter is a store too: export and erase it with the rest."""

    async def export(member: MemberRecord) -> dict[str, int]:
        return {"flood_windows_tracked": flood.tracked(member.platform, member.user_id)}

    async def erase(member: MemberRecord) -> None:
        await flood.forget_user(member.platform, member.user_id)

    return MemberDataHook("anti_flood", export, erase)


FEATURE = Feature(
    "moderation",
    install_community,
    order=20,
    config=ModerationConfig,
    migrations=Path(__file__).with_name("migrations"),
)
