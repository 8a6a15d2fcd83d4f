"""The WeCom callback URL on the shared HTTP server.

GET verifies the URL (answers the decrypted ``echostr``); POST carries one
encrypted event. A request that is not signed by our token, or not for our
corp, is refused with 403 and nothing is processed. An event is answered 200
only once it is stored (or, for kf notices, once the puller is told), so a
worker that dies before that leaves it to WeCom's retry; WeCom retries what
is not answered within 5 s, so nothing slow happens here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.adapters.wecom.convert import callback_raw
from bot.adapters.wecom.crypto import MAX_BODY, CallbackCrypto, CallbackRejected
from bot.adapters.wecom.inbound import KfNotice, notice_of
from bot.intake import Overloaded
from bot.outages import StoreUnavailable
from bot.web import WebServer

log = logging.getLogger("warmline.wecom")

RETRY = {"Retry-After": "1"}
SIGNED = ("msg_signature", "timestamp", "nonce")

Receive = Callable[[dict[str, Any]], Awaitable[None]]
OnKf = Callable[[KfNotice], None]


class CallbackEndpoint:
    def __init__(self, crypto: CallbackCrypto, receive: Receive, on_kf: OnKf) -> None:
        self._crypto = crypto
        self._receive = receive
        self._on_kf = on_kf
        self.accepting = False

    def mount(self, server: WebServer, path: str) -> None:
        server.add_route("GET", path, self.verify)
        server.add_route("POST", path, self.handle)

    async def verify(self, request: web.Request) -> web.Response:
        query = request.query
        if any(not query.get(name) for name in (*SIGNED, "echostr")):
            return web.Response(
                status=400, text="msg_signature, timestamp, nonce and echostr needed"
            )
        try:
            echo = self._crypto.verify_url(
                query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"]
            )
        except CallbackRejected as exc:
            log.warning("WeCom URL check from %s refused: %s", request.remote, exc)
            return web.Response(status=403, text="signature check failed")
        return web.Response(text=echo)

    async def handle(self, request: web.Request) -> web.Response:
        query = request.query
        if any(not query.get(name) for name in SIGNED):
            return web.Response(status=400, text="msg_signature, timestamp and nonce needed")
        if (request.content_length or 0) > MAX_BODY:
            return web.Response(status=413, text="callback body too large")
        body = await request.read()  # bounded by the server's client_max_size
        try:
            fields = self._crypto.open(
                body, query["msg_signature"], query["timestamp"], query["nonce"]
            )
        except CallbackRejected as exc:
            log.warning("WeCom callback from %s refused: %s", request.remote, exc)
            return web.Response(status=403, text="signature check failed")
        if not self.accepting:
            return web.Response(status=503, text="shutting down", headers=RETRY)
        notice = notice_of(fields)
        if notice is None:
            return web.Response(text="success")  # an event Warmline does not use
        if isinstance(notice, KfNotice):
            self._on_kf(notice)  # the puller fetches and stores the messages
            return web.Response(text="success")
        try:
            await self._receive(callback_raw(fields))
        except Overloaded:
            return web.Response(status=429, text="too many updates waiting", headers=RETRY)
        except StoreUnavailable:
            return web.Response(status=503, text="store unavailable", headers=RETRY)
        return web.Response(text="success")
