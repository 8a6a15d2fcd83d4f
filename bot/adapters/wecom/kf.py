"""Pulling kf (微信客服) messages: a cursor shared by every worker.

A ``kf_msg_or_event`` callback only says "there is something"; the messages
come from ``kf/sync_msg``. The puller fetches pages until ``has_more`` is 0,
hands each page to the durable intake and only then saves the cursor, so a
worker killed mid-pull re-reads (the inbox dedupes on ``msgid``) and never
skips. It also pulls every ``interval`` so a notice lost with a dead worker
is picked up anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.adapters.wecom import endpoints as ep
from bot.adapters.wecom.api import WeComApi
from bot.adapters.wecom.convert import kf_raw
from bot.adapters.wecom.inbound import KfNotice
from bot.errors import WarmlineError

log = logging.getLogger("warmline.wecom.kf")

Store = Callable[[list[dict[str, Any]]], Awaitable[None]]
#: told of each customer message's send_time: the kf window opens there
OnCustomer = Callable[[str, int], Awaitable[None]]


class CursorStore(Protocol):
    async def load(self, name: str) -> str: ...

    async def save(self, name: str, value: str) -> None: ...


class KfPuller:
    def __init__(
        self,
        api: WeComApi,
        open_kfid: str,
        cursors: CursorStore,
        store: Store,
        *,
        interval: float = 30.0,
    ) -> None:
        self._api = api
        self._open_kfid = open_kfid
        self._cursors = cursors
        self._store = store
        self._interval = interval
        self._token = ""
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def cursor_name(self) -> str:
        return f"wecom:kf:cursor:{self._open_kfid}"

    def poke(self, notice: KfNotice) -> None:
        """A callback said there are messages (the token speeds up the pull)."""
        if notice.open_kfid and notice.open_kfid != self._open_kfid:
            log.info("kf notice for another account %s ignored", notice.open_kfid)
            return
        self._token = notice.token
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="wecom-kf-puller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            try:
                await self.pull()
            except WarmlineError as exc:  # the platform or store is down: next round
                log.warning("kf pull failed: %s", exc)
                await asyncio.sleep(min(self._interval, 5.0))
                self._wake.set()

    async def pull(self) -> int:
        """Fetch and store everything after the saved cursor; how many were stored."""
        async with self._lock:
            cursor = await self._cursors.load(self.cursor_name)
            stored = 0
            while True:
                batch = await ep.kf_sync(
                    self._api, cursor=cursor, token=self._token, open_kfid=self._open_kfid
                )
                raws = [kf_raw(_as_dict(m)) for m in batch.messages]
                if raws:
                    await self._store(raws)
                    stored += len(raws)
                if batch.next_cursor != cursor:
                    await self._cursors.save(self.cursor_name, batch.next_cursor)
                    cursor = batch.next_cursor
                if not batch.has_more:
                    return stored


def _as_dict(message: ep.KfMessage) -> dict[str, Any]:
    text: dict[str, Any] = {"content": message.text}
    if message.menu_id:
        text["menu_id"] = message.menu_id
    return {
        "msgid": message.msgid,
        "open_kfid": message.open_kfid,
        "external_userid": message.external_userid,
        "send_time": message.send_time,
        "origin": message.origin,
        "msgtype": message.msgtype,
        "text": text,
    }
