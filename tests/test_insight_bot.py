"""Insight inside a running bot: Prometheus metrics counted by the middleware
and served at /metrics, and /dashboard's one-time login link."""

from __future__ import annotations

import aiohttp
from harness import local_bot, make_config

from insight.metrics import Metrics
from insight.passwords import hash_password
from insight.serve import InsightSite


def _insight(**dashboard: object) -> dict[str, object]:
    return {
        "metrics": {"enabled": True},
        "dashboard": {"listen": "127.0.0.1:0", **dashboard},
    }


async def test_metrics_count_updates_and_are_served(sqlite_url: str) -> None:
    config = make_config(sqlite_url, insight=_insight())
    async with local_bot(config) as bot:
        alice = bot.user("Alice")
        await bot.say(alice, "/start")
        await bot.say(alice, "/help")
        metrics = bot.app.services.require(Metrics)
        handled = metrics.updates.labels("IncomingMessage")._value.get()
        assert handled == 2
        base = bot.app.services.require(InsightSite).base_url
        async with aiohttp.ClientSession() as http, http.get(base + "/metrics") as response:
            assert response.status == 200
            body = await response.text()
        assert 'warmline_updates_total{type="IncomingMessage"} 2.0' in body
        assert "warmline_handler_seconds_bucket" in body
        assert "warmline_outbox_depth 0.0" in body
        assert "warmline_scheduler_lag_seconds" in body
        async with aiohttp.ClientSession() as http, http.get(base + "/dashboard/") as response:
            assert response.status == 404  # the dashboard is off


async def test_retries_and_rate_limits_are_counted_from_the_core_signal(sqlite_url: str) -> None:
    import logging

    config = make_config(sqlite_url, insight=_insight())
    async with local_bot(config) as bot:
        metrics = bot.app.services.require(Metrics)
        retry = bot.app.services.signals.platform_retry
        retry.emit("rate_limited")
        retry.emit("transient")
        assert metrics.rate_limited._value.get() == 1
        assert metrics.retries.labels("transient")._value.get() == 1
        # log text is no source: the old retry-log line counts nothing any more
        logging.getLogger("warmline.retry").warning("%s: rate limited, retrying in %ss", "x", 3)
        assert metrics.rate_limited._value.get() == 1
    retry.emit("rate_limited")
    assert metrics.rate_limited._value.get() == 1  # unsubscribed on shutdown


async def test_dashboard_login_link_for_bot_admins(sqlite_url: str) -> None:
    config = make_config(
        sqlite_url,
        insight=_insight(
            enabled=True, admins=[{"username": "mei", "password_hash": hash_password("x")}]
        ),
    )
    async with local_bot(config) as bot:
        refused = await bot.say(bot.user("Alice"), "/dashboard")
        assert "only bot admins" in refused[0].text
        replies = await bot.say(bot.user("admin"), "/dashboard")
        link = replies[0].text.split()[-1]
        assert "/dashboard/login/link/" in link
        base = bot.app.services.require(InsightSite).base_url
        path = link[link.index("/dashboard/") :]
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(base + path) as response:
                assert response.status == 200
                assert "Log out" in await response.text()
            async with (
                aiohttp.ClientSession() as other,
                other.get(base + path, allow_redirects=False) as again,
            ):
                assert again.status == 401  # used once already


async def test_dashboard_command_when_the_dashboard_is_off(sqlite_url: str) -> None:
    async with local_bot(make_config(sqlite_url)) as bot:
        replies = await bot.say(bot.user("admin"), "/dashboard")
        assert "not enabled" in replies[0].text
        [stats] = await bot.say(bot.user("admin"), "/stats")
        assert "/dashboard/" not in stats.text


async def test_stats_points_at_the_dashboard_when_it_is_on(sqlite_url: str) -> None:
    """The shared /stats handler learns the page from the feature, never imports it."""
    config = make_config(
        sqlite_url,
        insight=_insight(
            enabled=True,
            public_url="https://shop.example",
            admins=[{"username": "mei", "password_hash": hash_password("x")}],
        ),
    )
    async with local_bot(config) as bot:
        [stats] = await bot.say(bot.user("admin"), "/stats")
        assert stats.text.endswith("Charts and details: https://shop.example/dashboard/")


def test_grafana_sample_charts_only_metrics_that_exist() -> None:
    import json
    import re
    from pathlib import Path

    sample = json.loads(
        (Path(__file__).parent.parent / "deploy" / "grafana-dashboard.json").read_text()
    )
    used = {
        re.sub(r"_(total|bucket)$", "", name)
        for panel in sample["panels"]
        for target in panel["targets"]
        for name in re.findall(r"warmline_\w+", target["expr"])
    }
    known = {metric.name for metric in Metrics().registry.collect()}
    assert used and used <= known, used - known


async def test_member_activity_feeds_retention(sqlite_url: str) -> None:
    from datetime import timedelta

    from insight.queries.activity import refresh_activity
    from insight.queries.cohorts import cohorts
    from insight.tracker import ActivityTracker
    from insight.window import Window

    async with local_bot(make_config(sqlite_url)) as bot:
        await bot.say(bot.user("Alice"), "hello there")
        await bot.say(bot.user("Bob"), "/help")
        assert await bot.app.services.require(ActivityTracker).flush() == 2
        now = bot.app.services.clock.now()
        window = Window(now - timedelta(days=1), now + timedelta(days=1))
        async with bot.app.database.engine.begin() as conn:
            await refresh_activity(conn)
            found = await cohorts(conn, window)
        assert [(c.size, c.active) for c in found] == [(2, {0: 2})]
