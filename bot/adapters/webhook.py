"""The Telegram webhook endpoint on the core's web server.

Telegram signs each delivery with ``X-Telegram-Bot-Api-Secret-Token``; a
request without the configured secret is refused (401) before its body is
read, so nobody else can inject updates.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.intake import Overloaded
from bot.outages import StoreUnavailable
from bot.web import WebServer

log = logging.getLogger("warmline.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RETRY = {"Retry-After": "1"}

#: takes one raw update; returns once it is stored (raises Overloaded, StoreUnavailable)
Receive = Callable[[dict[str, Any]], Awaitable[None]]


class WebhookEndpoint:
    def __init__(self, secret: str, receive: Receive) -> None:
        self._secret = secret.encode()
        self._receive = receive
        self.accepting = False

    def mount(self, server: WebServer, path: str) -> None:
        server.add_route("POST", path, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook request from %s refused: wrong secret token", request.remote)
            return web.Response(status=401, text="wrong secret token")
        if not self.accepting:
            return web.Response(status=503, text="shutting down")  # Telegram redelivers
        try:
            raw = json.loads(await request.read())
        except ValueError:
            log.warning("webhook request with a body that is not JSON refused")
            return web.Response(status=400, text="body is not JSON")
        if not isinstance(raw, dict):
            return web.Response(status=400, text="an update must be a JSON object")
        try:
            await self._receive(raw)
        except Overloaded:  # stored nothing: Telegram redelivers later
            return web.Response(status=429, text="too many updates waiting", headers=RETRY)
        except StoreUnavailable:
            return web.Response(status=503, text="store unavailable", headers=RETRY)
        return web.Response(text="ok")  # the update is handled or durably stored
