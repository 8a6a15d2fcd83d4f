"""``/healthz`` and ``/readyz`` for load balancers and orchestrators.

``/healthz``: the process answers (200 while the event loop runs).
``/readyz``: 200 only when this worker can do its work — the database and
Redis (when configured) answer within a second and the adapter is started;
503 with what failed otherwise, so a proxy sends traffic elsewhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import text

from bot.web import WebServer
from storage.database import Database

#: one check per dependency: True when it answered
Check = Callable[[], Awaitable[bool]]
CHECK_TIMEOUT = 1.0


class Health:
    def __init__(self, database: Database, redis: Redis | None = None) -> None:
        self._database = database
        self._redis = redis
        #: set once the adapter takes updates, cleared when it stops
        self.started = False

    def mount(self, server: WebServer) -> None:
        paths = {resource.canonical for resource in server.app.router.resources()}
        if "/healthz" not in paths:
            server.add_route("GET", "/healthz", self.alive)
            server.add_route("GET", "/readyz", self.ready)

    async def alive(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def ready(self, _request: web.Request) -> web.Response:
        checks = {"database": await _within(self._database_ok)}
        if self._redis is not None:
            checks["redis"] = await _within(self._redis_ok)
        checks["adapter"] = self.started
        ok = all(checks.values())
        body = {"status": "ready" if ok else "not ready", "checks": checks}
        return web.json_response(body, status=200 if ok else 503)

    async def _database_ok(self) -> bool:
        async with self._database.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def _redis_ok(self) -> bool:
        assert self._redis is not None
        return bool(await self._redis.ping())


async def _within(check: Check) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            return await check()
    except Exception:
        return False
