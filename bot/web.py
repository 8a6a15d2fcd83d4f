"""One HTTP server for everything the bot serves: Telegram webhooks, shop
order hooks, the dashboard and metrics. Features add routes before start."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.config.checks import split_listen

log = logging.getLogger("warmline.web")


class WebServer:
    def __init__(self, listen: str) -> None:
        self.host, self.port = split_listen(listen)
        self.app = web.Application(client_max_size=1024 * 1024)
        self._runner: web.AppRunner | None = None

    @property
    def has_routes(self) -> bool:
        return bool(list(self.app.router.routes()))

    def add_route(
        self,
        method: str,
        path: str,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> None:
        self.app.router.add_route(method, path, handler)

    async def start(self) -> None:
        if self._runner is not None:
            return
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        bound = self._runner.addresses
        if bound and self.port == 0:
            self.port = int(bound[0][1])
        log.info("HTTP server listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
