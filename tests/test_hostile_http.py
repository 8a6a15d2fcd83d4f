"""What strangers can send the shared HTTP server: hostile bodies and headers get a
400 naming the problem, orders are bounded and atomic, slow clients cannot crowd
out real requests, and the health endpoints answer."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
from flows_support import journey_config
from harness import local_bot
from sqlalchemy import func, select

from bot.web import HttpLimits, WebServer
from flows.engine import FlowEngine
from flows.webhook import SIGNATURE_HEADER, sign
from storage.flow_tables import Order, PointsEntry

SECRET = "shop-secret-for-tests"
pytest_plugins = ("flows_fixtures",)


async def _count(bot: Any, table: Any) -> int:
    async with bot.app.database.session() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


def _signed(body: bytes) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(SECRET, body)}


async def test_hostile_orders_get_400_naming_the_field_and_store_nothing(journey_url: str) -> None:
    config = journey_config(journey_url, orders={"webhook_secret": SECRET, "max_amount": 5000})
    config.http.listen = "127.0.0.1:0"
    async with local_bot(config) as bot:
        await bot.say(bot.user("Alice"), "/start")
        url = f"http://127.0.0.1:{bot.app.web.port}/hooks/orders"
        order = {"order_id": "A-1", "user_id": "alice", "sku": "green", "amount": 39.9}
        cases: list[tuple[bytes, str]] = [
            (json.dumps({**order, "at": "9999-12-31T00:00:00Z"}).encode(), "at"),
            (json.dumps({**order, "at": "1970-01-01T00:00:00Z"}).encode(), "at"),
            (json.dumps({**order, "amount": 1e308}).encode(), "amount"),
            (json.dumps({**order, "amount": 10**300}).encode(), "body"),
            (json.dumps({**order, "amount": 5000.01}).encode(), "amount"),
            (b'{"order_id": "A-1", "amount": NaN}', "body"),
            (b'{"amount": 1e999}', "body"),
            (b'{"user_id": ' + b"9" * 5000 + b"}", "body"),
            (b"[" * 100_000 + b"]" * 100_000, "body"),
            (b'{"a":' * 200 + b"1" + b"}" * 200, "body"),
        ]
        async with aiohttp.ClientSession() as http:
            for body, field in cases:
                for content_type in ("application/json", "text/plain"):
                    headers = {**_signed(body), "Content-Type": content_type}
                    async with http.post(url, data=body, headers=headers) as answer:
                        got = await answer.json()
                        assert answer.status == 400, (body[:60], answer.status, got)
                        assert got["field"] == field, (body[:60], got)
            # a signature header that is not ASCII is malformed, not a server error
            body = json.dumps(order).encode()
            for value in ("sha256=ü" + "0" * 63, "\u0394" * 64):
                raw_headers = {SIGNATURE_HEADER: value}
                async with http.post(url, data=body, headers=raw_headers) as answer:
                    assert answer.status == 400
                    assert (await answer.json())["field"] == SIGNATURE_HEADER
            async with http.post(url, data=body, headers=_signed(body)) as stored:
                assert stored.status == 201
        assert await _count(bot, Order) == 1


async def test_an_order_that_fails_midway_is_not_stored_and_its_retry_is_processed(
    journey_url: str,
) -> None:
    config = journey_config(journey_url, orders={"webhook_secret": SECRET})
    config.http.listen = "127.0.0.1:0"
    async with local_bot(config) as bot:
        await bot.say(bot.user("Alice"), "/start")
        await bot.say(bot.user("Bob"), "/start")
        engine = bot.app.services.require(FlowEngine)
        code = (await engine.journeys.get_many([1]))[1].referral_code
        await bot.say(bot.user("Carol"), f"/start ref-{code}")  # referred by Alice
        carol = await bot.app.services.members.get("local", "carol")
        assert carol is not None and carol.referrer_code == code
        original = engine.timers.schedule
        failures = [1]

        async def failing_once(*args: Any, **kwargs: Any) -> Any:
            if failures:
                failures.pop()
                raise RuntimeError("database went away after the order was written")
            return await original(*args, **kwargs)

        engine.timers.schedule = failing_once  # type: ignore[method-assign]
        url = f"http://127.0.0.1:{bot.app.web.port}/hooks/orders"
        body = json.dumps(
            {"order_id": "C-1", "user_id": "carol", "sku": "green", "amount": 39.9}
        ).encode()
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=body, headers=_signed(body)) as failed:
                assert failed.status == 503
            # nothing of it stayed: no order, no referral points, no purchase counted
            assert await _count(bot, Order) == 0
            assert await _count(bot, PointsEntry) == 0
            state = (await engine.journeys.get_many([carol.id]))[carol.id]
            assert state.tier == "ordinary"
            async with http.post(url, data=body, headers=_signed(body)) as retried:
                assert retried.status == 201, await retried.text()
                assert (await retried.json())["tier"] == "active"
            async with http.post(url, data=body, headers=_signed(body)) as again:
                assert (await again.json())["status"] == "duplicate"
        assert await _count(bot, Order) == 1
        assert await _count(bot, PointsEntry) == 2  # referrer and friend, once each
        assert any("Thank you for your order" in m.text for m in bot.adapter.sent_to("carol"))


async def _slow_client(port: int, stop: asyncio.Event) -> bool:
    """Send a request head one byte a second; True when the server hung up on us."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    head = b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-Padding: " + b"a" * 100
    try:
        for byte in head:
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                await asyncio.wait_for(reader.read(1), timeout=1.0)
                return True  # EOF or an answer: closed on us
            except TimeoutError:
                pass
            if stop.is_set():
                return False
        return False
    except (ConnectionError, OSError):
        return True
    finally:
        writer.close()


async def test_slow_clients_cannot_starve_real_requests() -> None:
    limits = HttpLimits(header_timeout=2.0, body_timeout=2.0, idle_timeout=5.0, max_connections=64)
    server = WebServer("127.0.0.1:0", limits)
    handled = 0

    async def hook(request: Any) -> Any:
        nonlocal handled
        await request.read()
        handled += 1
        from aiohttp import web

        return web.Response(text="ok")

    server.add_route("POST", "/hook", hook)
    await server.start()
    stop = asyncio.Event()
    try:
        slow = [asyncio.create_task(_slow_client(server.port, stop)) for _ in range(200)]
        await asyncio.sleep(0.5)
        latencies = []
        async with aiohttp.ClientSession() as http:
            for n in range(40):
                start = time.monotonic()
                async with http.post(
                    f"http://127.0.0.1:{server.port}/hook",
                    json={"update_id": n},
                    timeout=aiohttp.ClientTimeout(total=5),
                ) as answer:
                    assert answer.status == 200
                latencies.append(time.monotonic() - start)
                await asyncio.sleep(0.05)
        assert len(server.connections) <= 64
        await asyncio.sleep(limits.header_timeout + 1)
        stop.set()
        hung_up = sum(await asyncio.gather(*slow))
    finally:
        await server.stop()
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"p95 {p95 * 1000:.0f} ms with 200 slow clients; {hung_up} of them cut off")
    assert handled == 40 and p95 < 1.0
    # every slow client was cut off: at the cap, or when its head was late
    assert hung_up == 200


async def test_hostile_bodies_and_headers_on_any_route_get_400() -> None:
    server = WebServer("127.0.0.1:0")

    async def echo(request: Any) -> Any:
        from aiohttp import web

        return web.json_response(await request.json())

    server.add_route("POST", "/echo", echo)
    await server.start()
    url = f"http://127.0.0.1:{server.port}/echo"
    try:
        async with aiohttp.ClientSession() as http:
            for body in (b"[" * 50_000, b"1" * 6000, b'{"x": Infinity}', b"\xff\xfe"):
                headers = {"Content-Type": "application/json"}
                async with http.post(url, data=body, headers=headers) as answer:
                    assert answer.status == 400, (body[:20], answer.status)
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s\u00e9cret"}
            async with http.post(url, json={"a": 1}, headers=headers) as answer:
                assert answer.status == 400
            async with http.post(url, json={"a": [1, {"b": 2}]}) as answer:
                assert answer.status == 200
    finally:
        await server.stop()


async def test_health_endpoints(journey_url: str) -> None:
    config = journey_config(journey_url, orders={"webhook_secret": SECRET})
    config.http.listen = "127.0.0.1:0"
    async with local_bot(config) as bot:
        base = f"http://127.0.0.1:{bot.app.web.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/healthz") as alive:
                assert alive.status == 200
            async with http.get(base + "/readyz") as ready:
                assert ready.status == 200
                assert (await ready.json())["checks"] == {"database": True, "adapter": True}
            bot.app.health.started = False  # as while the adapter stops
            async with http.get(base + "/readyz") as stopping:
                assert stopping.status == 503
                assert (await stopping.json())["checks"]["adapter"] is False
