"""``POST /hooks/orders``: a shop posts orders, signed with HMAC-SHA256.

The signature is the hex HMAC-SHA256 of the raw body with
``flows.orders.webhook_secret``, in ``X-Warmline-Signature`` (``sha256=`` prefix
allowed). Unsigned or badly signed: 401 and nothing stored. Bad payload: 400
naming the field — including an ``amount`` above ``flows.orders.max_amount`` and
an ``at`` older than ``flows.orders.max_age`` or more than a day ahead. A
repeated ``order_id`` is acknowledged and stored once. An order is stored with
its tier, points and after-sales timers or not at all: when storing fails the
hook answers 503 and the shop's retry is processed.

    {"order_id": "A-1001", "user_id": "123456", "sku": "green-tea",
     "amount": 39.9, "platform": "telegram", "at": "2026-11-25T10:00:00Z"}
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.safe_json import BadJson, load_json
from bot.services import Services
from flows.config import OrdersConfig, flows_config
from flows.engine import FlowEngine

SIGNATURE_HEADER = "X-Warmline-Signature"
#: an order time this far ahead is a wrong clock or a wrong field, not an order
MAX_AHEAD = timedelta(days=1)

log = logging.getLogger("warmline.flows.orders")


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    given = header.strip().lower().removeprefix("sha256=")
    # bytes: a str with non-ASCII characters would make compare_digest raise
    return hmac.compare_digest(given.encode(errors="replace"), sign(secret, body).encode())


class PayloadError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def parse_order(
    raw: bytes,
    default_platform: str,
    limits: OrdersConfig | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    limits = limits or OrdersConfig()
    try:
        data = load_json(raw)
    except BadJson as exc:
        raise PayloadError("body", str(exc)) from None
    if not isinstance(data, dict):
        raise PayloadError("body", "must be a JSON object")
    out: dict[str, Any] = {}
    for field in ("order_id", "user_id", "sku"):
        value = data.get(field)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip() or len(value) > 128:
            raise PayloadError(field, "required, a non-empty string (at most 128 characters)")
        out[field] = value.strip()
    if len(out["sku"]) > 64:
        raise PayloadError("sku", "at most 64 characters")
    amount = data.get("amount")
    if (
        not isinstance(amount, int | float)
        or isinstance(amount, bool)
        or not math.isfinite(amount)
        or amount <= 0
    ):
        raise PayloadError("amount", "required, a positive number")
    if amount > limits.max_amount:
        raise PayloadError("amount", f"at most {limits.max_amount:g}")
    out["amount"] = float(amount)
    platform = data.get("platform", default_platform)
    if not isinstance(platform, str) or not platform:
        raise PayloadError("platform", "must be a string")
    out["platform"] = platform
    at = data.get("at")
    if at is not None:
        try:
            parsed = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
        except ValueError:
            raise PayloadError("at", "must be an ISO 8601 time") from None
        if parsed.tzinfo is None:
            raise PayloadError("at", "must include a time zone (e.g. Z)")
        now = now or datetime.now(UTC)
        try:
            at_utc = parsed.astimezone(UTC)
            too_old = at_utc < now - limits.max_age
        except OverflowError:
            raise PayloadError("at", "out of range") from None
        if at_utc > now + MAX_AHEAD:
            raise PayloadError("at", "more than a day in the future")
        if too_old:
            raise PayloadError("at", f"older than {limits.max_age.days} days")
        out["at"] = at_utc
    return out


def orders_handler(engine: FlowEngine, services: Services, secret: str) -> Any:
    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_ok(secret, body, request.headers.get(SIGNATURE_HEADER)):
            return web.json_response({"error": "bad or missing signature"}, status=401)
        try:
            order = parse_order(
                body,
                services.adapter.platform,
                flows_config(services.config).orders,
                services.clock.now(),
            )
        except PayloadError as exc:
            return web.json_response({"error": str(exc), "field": exc.field}, status=400)
        member = await services.members.get(order["platform"], order["user_id"])
        if member is None:
            return web.json_response(
                {"error": "user_id: no such member", "field": "user_id"}, status=404
            )
        try:
            outcome = await engine.place_order(
                member,
                order["sku"],
                order["amount"],
                order.get("at") or services.clock.now(),
                "webhook",
                external_id=order["order_id"],
            )
        except Exception:
            # nothing of it was stored (one transaction): the shop retries and it is processed
            log.exception("order %s could not be stored", order["order_id"])
            return web.json_response(
                {"error": "the order could not be stored now; send it again"}, status=503
            )
        if outcome is None:
            return web.json_response({"status": "duplicate"}, status=200)
        return web.json_response(
            {"status": "stored", "order": outcome.order.id, "tier": outcome.tier}, status=201
        )

    return handle
