"""Tags set by flows, buttons and admins, mirrored to a platform that has its own
(:class:`~bot.adapter.TagMirror`). A failure is logged and never blocks whoever
set the tag: the tag is Warmline's first, the platform's copy follows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bot.adapter import TagMirror
from bot.services import Services
from bot.signals import TagChange

log = logging.getLogger("warmline.tags")


class TagMirroring:
    def __init__(self, services: Services, mirror: TagMirror) -> None:
        self._services = services
        self._mirror = mirror
        self._pending: set[asyncio.Task[None]] = set()
        self._disconnect: Callable[[], None] | None = None

    def start(self) -> None:
        self._disconnect = self._services.signals.tags_changed.connect(self._changed)

    async def stop(self) -> None:
        if self._disconnect is not None:
            self._disconnect()
            self._disconnect = None
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def _changed(self, change: TagChange) -> None:
        task = asyncio.get_running_loop().create_task(self._mirror_one(change))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _mirror_one(self, change: TagChange) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            try:
                member = await self._services.members.get_by_id(change.member_id)
                if member is None:
                    return
                await self._mirror.mirror_tags(
                    member.user, list(change.added), list(change.removed)
                )
            except Exception as exc:
                log.warning("tags of member %s not mirrored: %s", change.member_id, exc)
