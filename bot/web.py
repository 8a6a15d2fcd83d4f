"""One HTTP server for everything the bot serves: platform webhooks, shop
order hooks, the dashboard and metrics. Features add routes before start.

What it promises (README "Running several workers"): a request's head must
arrive within ``header_timeout`` of its first byte (of the connection, for a
new one) and its body within ``body_timeout``; an idle keep-alive connection
is closed after ``idle_timeout``; at most ``max_connections`` are open — at the
cap the oldest connection still waiting for a request head is closed, so slow
or idle clients cannot crowd out a webhook delivery. Hostile bodies and
credential headers get a 400 that names the problem, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.config.checks import split_listen
from bot.config.http import LISTEN_ENV
from bot.errors import ConfigError
from bot.safe_json import BadJson, load_json

log = logging.getLogger("warmline.web")

#: words naming a header that carries a credential (a platform's webhook secret, an order
#: hook's signature, the dashboard's CSRF token): compared byte by byte, so it must be ASCII
CREDENTIAL_WORDS = ("token", "signature", "secret")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def listen_address(configured: str) -> str:
    """``WARMLINE_LISTEN`` when set (each worker its own port), else ``http.listen``."""
    override = os.environ.get(LISTEN_ENV, "").strip()
    if override:
        try:
            split_listen(override)
        except ValueError as exc:
            raise ConfigError(f"{LISTEN_ENV}: {exc}") from None
        return override
    return configured


@dataclass(frozen=True, slots=True)
class HttpLimits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 15.0
    max_connections: int = 512


class WebServer:
    def __init__(self, listen: str, limits: HttpLimits | None = None) -> None:
        self.host, self.port = split_listen(listen)
        self.limits = limits or HttpLimits()
        self.connections = _Connections(_connection_cap(self.limits.max_connections))
        self.app = web.Application(client_max_size=1024 * 1024, middlewares=[self._guard_request])
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None

    @property
    def has_routes(self) -> bool:
        return bool(list(self.app.router.routes()))

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        self.app.router.add_route(method, path, handler)

    async def start(self) -> None:
        if self._runner is not None:
            return
        self._runner = web.AppRunner(
            self.app, access_log=None, keepalive_timeout=self.limits.idle_timeout
        )
        await self._runner.setup()
        inner = self._runner.server
        assert inner is not None
        header_timeout = self.limits.header_timeout

        def guarded() -> asyncio.Protocol:
            return _Guard(inner(), self.connections, header_timeout)

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(guarded, self.host, self.port, backlog=512)
        if self.port == 0 and self._server.sockets:
            self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("HTTP server listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _guard_request(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        guard = self.connections.of(request.transport)
        if guard is not None:
            guard.busy()
        try:
            for name, value in request.headers.items():
                if not (value.isascii() and value.isprintable()) and _is_credential(name):
                    return _bad(name, "must be printable ASCII")
            # (a multipart body is streamed by its handler, so it is not read here)
            if request.body_exists and not request.content_type.startswith("multipart/"):
                try:
                    async with asyncio.timeout(self.limits.body_timeout):
                        body = await request.read()  # cached: handlers read it again for free
                except TimeoutError:
                    return web.json_response(
                        {"error": f"body not received within {self.limits.body_timeout:g}s"},
                        status=408,
                        headers={"Connection": "close"},
                    )
                if request.content_type == "application/json" and body:
                    try:
                        load_json(body)
                    except BadJson as exc:
                        return _bad("body", str(exc))
            return await handler(request)
        finally:
            if guard is not None:
                guard.idle()


def _is_credential(header: str) -> bool:
    lowered = header.lower()
    return any(word in lowered for word in CREDENTIAL_WORDS)


def _bad(field: str, problem: str) -> web.Response:
    return web.json_response({"error": f"{field}: {problem}", "field": field}, status=400)


def _connection_cap(wanted: int) -> int:
    """Stay clear of the process's open-file limit: past it, accept() fails and the
    event loop logs every retry (70 MB in 8 s, issue 17)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(16, min(wanted, soft - 128))


class _Connections:
    """Open connections, oldest first, and the cap on them."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._open: OrderedDict[Any, _Guard] = OrderedDict()
        self.evicted = 0
        self._reported = 0.0

    def __len__(self) -> int:
        return len(self._open)

    def of(self, transport: Any) -> _Guard | None:
        return self._open.get(transport)

    def admit(self, guard: _Guard) -> bool:
        """Make room for a new connection: close the oldest one that is not being
        served (waiting for its head, or idle); False when every one is busy."""
        if len(self._open) >= self.cap:
            victim = next((g for g in self._open.values() if not g.serving), None)
            if victim is None:
                return False
            victim.abort()
            self.evicted += 1
            now = time.monotonic()
            if now - self._reported > 10:
                self._reported = now
                log.warning(
                    "HTTP: %d connections open (cap); %d slow or idle ones closed so far",
                    len(self._open),
                    self.evicted,
                )
        self._open[guard.transport] = guard
        return True

    def closed(self, guard: _Guard) -> None:
        self._open.pop(guard.transport, None)


class _Guard(asyncio.Protocol):
    """aiohttp's protocol for one connection, with a deadline for each request head."""

    def __init__(self, inner: Any, connections: _Connections, header_timeout: float) -> None:
        self._inner = inner
        self._connections = connections
        self._header_timeout = header_timeout
        self._deadline: asyncio.TimerHandle | None = None
        self._admitted = False
        self.transport: Any = None
        #: a request is being handled (between its head and its response)
        self.serving = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if not self._connections.admit(self):
            self.abort()  # every connection is mid-request: refuse this one
            return
        self._admitted = True
        self._inner.connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if not self._admitted:
            return
        if not self.serving and self._deadline is None:
            self._arm()  # the first byte of the next request on a kept-alive connection
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._admitted else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._admitted:
            self._connections.closed(self)
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def busy(self) -> None:
        self.serving = True
        self._disarm()

    def idle(self) -> None:
        self.serving = False

    def abort(self) -> None:
        self._disarm()
        if self.transport is not None:
            self.transport.abort()

    def _arm(self) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.serving:
            self.abort()
