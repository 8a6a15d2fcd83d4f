"""The dashboard in a real browser (Debian's Chromium through Playwright), plus
the access rules checked over plain HTTP: no page, no JSON and no state
change without a session and its CSRF token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from browser_support import launch, needs_chromium
from insight_history import END, WINDOW, build_history

from bot.clock import ManualClock
from bot.config.model import WarmlineConfig
from bot.schema import with_feature_tables
from bot.web import WebServer
from insight.dashboard.app import mount
from insight.passwords import hash_password
from storage.database import Database

ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "oolong-at-dawn"
PERIOD = f"from={WINDOW.start:%Y-%m-%d}&to=2026-05-04"
PAGES = ("/", "/sources", "/cohorts", "/members", "/members/1", "/push", "/handoffs")
JSON = (
    "/api/overview",
    "/api/sources",
    "/api/cohorts",
    "/api/members?q=a",
    "/api/members/1",
    "/api/push",
    "/api/handoffs",
)
CHART_PAGES = {"/": 1, "/sources": 2, "/cohorts": 1, "/push": 3}


@pytest.fixture(scope="module")
def admin_hash() -> str:
    return hash_password(PASSWORD)


@asynccontextmanager
async def serve(database_url: str, admin_hash: str) -> AsyncIterator[str]:
    config = WarmlineConfig.model_validate(
        {
            "storage": {"database_url": database_url},
            "push": {"caps": {"per_week": 2}},
            "flows": {"products": {"tea": {"name": "Tea", "cycle": "30d"}}},
            "insight": {
                "sources": {"ads": {"cost_per_member": 10}},
                "dashboard": {
                    "enabled": True,
                    "admins": [{"username": "mei", "password_hash": admin_hash}],
                },
            },
        }
    )
    db = with_feature_tables(Database(database_url))
    await db.migrate()
    await build_history(db.engine)
    server = WebServer("127.0.0.1:0")
    mount(server.app, db.engine, config, ManualClock(END))
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}/dashboard"
    finally:
        await server.stop()
        await db.close()


@pytest.fixture
async def dashboard(database_url: str, admin_hash: str) -> AsyncIterator[str]:
    """Access rules are checked on both databases."""
    async with serve(database_url, admin_hash) as url:
        yield url


@pytest.fixture
async def sqlite_dashboard(sqlite_url: str, admin_hash: str) -> AsyncIterator[str]:
    """The browser walk-through: queries are covered on both databases elsewhere."""
    async with serve(sqlite_url, admin_hash) as url:
        yield url


async def test_nothing_without_a_session(dashboard: str) -> None:
    async with aiohttp.ClientSession() as http:
        for path in PAGES:
            async with http.get(dashboard + path, allow_redirects=False) as response:
                assert response.status == 302, path
                assert response.headers["Location"].startswith("/dashboard/login?next=")
                assert "Alice" not in await response.text()
        for path in JSON:
            async with http.get(dashboard + path, allow_redirects=False) as response:
                assert response.status == 401, path
        async with http.post(dashboard + "/sources/cost", data={"source": "ads"}) as response:
            assert response.status == 401
        async with http.get(dashboard + "/static/plotly.min.js") as response:
            assert response.status == 200  # the chart library is public; it holds no data


async def test_csrf_is_required_for_every_change(dashboard: str) -> None:
    # unsafe: keep cookies set by an IP-address host (127.0.0.1)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        # the login form itself: no double-submit token, no login
        async with http.post(
            dashboard + "/login",
            data={"username": "mei", "password": PASSWORD},
            allow_redirects=False,
        ) as response:
            assert response.status == 403
        async with http.get(dashboard + "/login") as response:
            page = await response.text()
        token = page.split('name="csrf" value="')[1].split('"')[0]
        async with http.post(
            dashboard + "/login",
            allow_redirects=False,
            data={"username": "mei", "password": PASSWORD, "csrf": token},
        ) as response:
            assert response.status == 302
        change = {"source": "ads", "kind": "per_member", "amount": "99", "period_days": "30"}
        async with http.post(
            dashboard + "/sources/cost", data=change, allow_redirects=False
        ) as response:
            assert response.status == 403
        async with http.post(
            dashboard + "/sources/cost", data=change | {"csrf": "forged"}, allow_redirects=False
        ) as response:
            assert response.status == 403
        async with http.post(dashboard + "/logout", allow_redirects=False) as response:
            assert response.status == 403
        async with http.get(dashboard + "/api/sources?" + PERIOD) as response:
            body = await response.json()
        assert body["tables"]["sources"]["rows"][0][:2] == ["ads", 2]
        assert body["tables"]["sources"]["rows"][0][4] == 10  # CAC unchanged


@needs_chromium
async def test_in_a_real_browser(sqlite_dashboard: str) -> None:
    dashboard = sqlite_dashboard
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    async with async_playwright() as p:
        browser = await launch(p)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        page.on(
            "console",
            lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith("http://127.0.0.1")
                else problems.append(f"left the host: {r.url}")
            ),
        )

        await page.goto(dashboard + "/")
        assert "/login" in page.url
        await page.fill("#username", "mei")
        await page.fill("#password", "not-the-password")
        await page.click("#login")
        assert await page.locator("#login-error").is_visible()
        await page.screenshot(path=ARTIFACTS / "dashboard-login-refused.png")
        assert [p for p in problems if "401" not in p] == []  # the refusal itself is a 401
        problems.clear()

        await page.fill("#username", "mei")
        await page.fill("#password", PASSWORD)
        await page.click("#login")
        await page.wait_for_url(dashboard + "/")
        for path in PAGES:
            sep = "&" if "?" in path else "?"
            await page.goto(dashboard + path + sep + PERIOD)
            assert await page.locator("main h1").count() == 1, path
            charts = CHART_PAGES.get(path, 0)
            if charts:
                await page.wait_for_function(
                    f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {charts}"
                )
                assert await page.locator(".js-plotly-plot").count() == charts, path
            name = path.strip("/").replace("/", "-") or "overview"
            await page.screenshot(path=ARTIFACTS / f"dashboard-{name}.png", full_page=True)

        await page.goto(dashboard + "/members")
        await page.fill("input[name=q]", "ali")
        await page.click("#member-search button")
        await page.wait_for_selector("#member-results a")
        assert await page.locator("#member-results a").all_inner_texts() == ["Alice"]
        await page.click("#member-results a")
        assert await page.locator("#member-name").inner_text() == "Alice @alice"
        assert await page.locator("#timeline").get_by_text("push · offer").count() >= 1

        await page.goto(dashboard + "/sources?" + PERIOD)
        await page.fill("#cost-form input[name=source]", "group")
        await page.fill("#cost-form input[name=amount]", "4.5")
        await page.click("#cost-form button")
        await page.wait_for_selector(".flash")
        assert "group — CNY 4.5 per member (set by mei)" in await page.locator("main").inner_text()

        await page.click("#logout")
        await page.wait_for_url("**/login")
        await page.goto(dashboard + "/members/1")
        assert "/login" in page.url
        assert await page.get_by_text("Alice").count() == 0
        await browser.close()
    assert problems == []


async def test_sessions_and_login_links_expire(sqlite_url: str) -> None:
    from datetime import timedelta

    from insight.dashboard.sessions import SessionStore

    db = with_feature_tables(Database(sqlite_url))
    await db.migrate()
    clock = ManualClock(END)
    store = SessionStore(db.engine, clock, timedelta(hours=8), timedelta(minutes=10))
    try:
        token, session = await store.create("mei")
        assert (await store.get(token)) == session
        assert await store.get("forged") is None
        clock.advance(timedelta(hours=8, seconds=1))
        assert await store.get(token) is None
        link = await store.create_link("admin (bot admin)")
        assert await store.redeem_link(link) == "admin (bot admin)"
        assert await store.redeem_link(link) is None  # once only
        stale = await store.create_link("admin (bot admin)")
        clock.advance(timedelta(minutes=11))
        assert await store.redeem_link(stale) is None
        token, _ = await store.create("mei")
        await store.end(token)
        assert await store.get(token) is None
    finally:
        await db.close()
