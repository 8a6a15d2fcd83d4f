"""Guessing the dashboard password: limited per user name and per address, and
hashed off the event loop, so members keep getting answers during a flood."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from harness import LocalBot, local_bot, make_config

from insight.passwords import hash_password

PASSWORD = "oolong-at-dawn"


@pytest.fixture(scope="module")
def admin_hash() -> str:
    return hash_password(PASSWORD)


@asynccontextmanager
async def dashboard_bot(
    url: str, admin_hash: str, **dashboard: Any
) -> AsyncIterator[tuple[LocalBot, str]]:
    config = make_config(
        url,
        bot={"telegram": {"webhook": {"listen": "127.0.0.1:0"}}},
        insight={
            "dashboard": {
                "enabled": True,
                "listen": "127.0.0.1:0",  # the bot's own server
                "admins": [{"username": "mei", "password_hash": admin_hash}],
                **dashboard,
            }
        },
    )
    async with local_bot(config) as bot:
        yield bot, f"http://127.0.0.1:{bot.app.web.port}/dashboard"


async def _login(
    http: aiohttp.ClientSession, base: str, user: str, password: str, **headers: str
) -> aiohttp.ClientResponse:
    async with http.get(base + "/login") as form:
        token = re.search(r'name="csrf" value="([^"]+)"', await form.text())
        assert token is not None
    response = await http.post(
        base + "/login",
        data={"username": user, "password": password, "csrf": token.group(1)},
        headers=headers,
        allow_redirects=False,
    )
    await response.read()
    return response


def _jar() -> aiohttp.CookieJar:
    return aiohttp.CookieJar(unsafe=True)  # keep cookies of 127.0.0.1


async def test_a_user_name_is_locked_after_failures_and_an_address_after_attempts(
    sqlite_url: str, admin_hash: str
) -> None:
    limit = {"per_user": 3, "per_address": 8, "window": "15m"}
    async with dashboard_bot(sqlite_url, admin_hash, login_limit=limit) as (_bot, base):
        async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
            for _ in range(3):
                assert (await _login(http, base, "mei", "wrong")).status == 401
            locked = await _login(http, base, "mei", PASSWORD)  # even the right one waits
            assert locked.status == 429 and int(locked.headers["Retry-After"]) > 800
            # other names from this address still may try, up to the address's limit
            statuses = [(await _login(http, base, f"u{n}", "x")).status for n in range(6)]
            assert statuses == [401] * 5 + [429]  # 8 hashed attempts; refused ones are free


async def test_session_cookie_is_secure_behind_a_trusted_tls_proxy(
    sqlite_url: str, admin_hash: str
) -> None:
    proxy = {"X-Forwarded-Proto": "https"}
    async with dashboard_bot(sqlite_url, admin_hash) as (_bot, base):
        async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
            answer = await _login(http, base, "mei", PASSWORD, **proxy)
            assert answer.status == 302
            assert "Secure" not in answer.headers["Set-Cookie"]  # the header is not trusted
            csp = answer.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    async with dashboard_bot(sqlite_url, admin_hash, trust_forwarded_proto=True) as (_b, base):
        async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
            answer = await _login(http, base, "mei", PASSWORD, **proxy)
            assert answer.status == 302
            cookies = answer.headers.getall("Set-Cookie")
            assert any(c.startswith("wl_session=") and "Secure" in c for c in cookies)


#: an attacker's process: CLIENTS sessions guessing for SECONDS; prints the guesses made
FLOOD = """
import asyncio, re, sys, aiohttp
base, clients, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
async def guesser(n, until, done):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        while asyncio.get_running_loop().time() < until:
            async with http.get(base + "/login") as form:
                token = re.search(r'name="csrf" value="([^"]+)"', await form.text()).group(1)
            data = {"username": "mei", "password": f"guess-{n}-{done[0]}", "csrf": token}
            async with http.post(base + "/login", data=data, allow_redirects=False) as answer:
                await answer.read()
            done[0] += 1
async def main():
    done = [0]
    until = asyncio.get_running_loop().time() + seconds
    await asyncio.gather(*(guesser(n, until, done) for n in range(clients)))
    print(done[0])
asyncio.run(main())
"""


@pytest.mark.parametrize("limited", [True, False], ids=["default-limits", "no-limits"])
async def test_a_login_flood_leaves_member_replies_fast(
    sqlite_url: str, admin_hash: str, limited: bool
) -> None:
    # without limits every guess is hashed: the worst case for the event loop
    limit = {} if limited else {"login_limit": {"per_user": 10**6, "per_address": 10**6}}
    async with dashboard_bot(sqlite_url, admin_hash, **limit) as (bot, base):
        alice = bot.user("Alice")
        await bot.say(alice, "/start")
        attacker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", FLOOD, base, "24", "6", stdout=asyncio.subprocess.PIPE
        )
        await asyncio.sleep(1.5)
        latencies = []
        for _ in range(30):
            start = time.monotonic()
            replies = await bot.say(alice, "/help")
            latencies.append(time.monotonic() - start)
            assert replies
            await asyncio.sleep(0.05)
        out, _ = await attacker.communicate()
    guesses = int(out.decode().strip() or 0)
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"member reply p95 {p95 * 1000:.0f} ms during {guesses} login attempts by 24 clients")
    assert guesses > 24
    assert p95 < 1.0
