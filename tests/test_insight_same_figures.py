"""One hand-built history (tests/insight_history.py), three readers: the figures
`warmline simulate` puts in its JSON (its measuring code, run on that history),
the CSV of `warmline report --csv` (the real command, in its own process) and the
dashboard's JSON API give the same funnel, referral and CAC numbers."""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from insight_history import END, START, WINDOW, build_history

from bot.clock import ManualClock
from bot.config.model import WarmlineConfig
from bot.schema import with_feature_tables
from bot.web import WebServer
from insight.dashboard.app import mount
from insight.definitions import FUNNEL_STEPS
from insight.passwords import hash_password
from insight.period import data_span, default_window, empty_period, joined_in_window
from insight.report import write_report
from insight.window import Window
from simulate.history import measure_history
from storage.database import Database

PASSWORD = "oolong-at-dawn"
_Api = Callable[[str], Awaitable[dict[str, Any]]]
LAST_DAY = "2026-05-04"  # WINDOW's last day: --to is inclusive
SETTINGS: dict[str, Any] = {
    "push": {"caps": {"per_week": 2}},
    "flows": {"products": {"tea": {"name": "Tea", "cycle": "30d"}}},
    "knowledge": {"enabled": False},
    "insight": {
        "sources": {
            "ads": {"cost_per_member": 10},
            "group": {"spend": 120, "period": "30d"},
        }
    },
}
SOURCE_FIGURES = ("joined", "cost", "cac", "revenue", "ltv", "ltv_cac", "payback_days")
REFERRAL_FIGURES = ("referral_rate", "k_factor", "referred_revenue")


def _config(url: str) -> WarmlineConfig:
    return WarmlineConfig.model_validate({**SETTINGS, "storage": {"database_url": url}})


@pytest.fixture
async def history(sqlite_url: str) -> AsyncIterator[str]:
    db = with_feature_tables(Database(sqlite_url))
    try:
        await db.migrate()
        await build_history(db.engine)
        yield sqlite_url
    finally:
        await db.close()


def _number(value: Any) -> float | None:
    if value in (None, "", "None"):
        return None
    return round(float(value), 2)


def _figures(tables: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """source → figure → value, from tables as {slug: {"columns", "rows"}}."""
    found: dict[str, dict[str, float | None]] = {}
    for slug, prefix in (("funnel", "funnel."), ("sources", "source."), ("referrals", "ref.")):
        table = tables[slug]
        columns = table["columns"]
        for row in table["rows"]:
            figures = found.setdefault(row[0], {})
            seen: dict[str, int] = {}
            for name, value in zip(columns[1:], row[1:], strict=True):
                if name == "step_conversion":  # one "→ %" column after each step
                    step = FUNNEL_STEPS[seen.setdefault("step", 1)]
                    seen["step"] += 1
                    name = f"conversion.{step}"
                elif name in ("cost basis", "referrers", "friends") or name.startswith("ltv_"):
                    if name not in ("ltv_cac",):
                        continue
                figures[prefix + name] = _number(value)
    return found


def _from_simulate(result: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    found: dict[str, dict[str, float | None]] = {}
    for source, funnel in result["funnel_by_source"].items():
        if source == "all":
            continue
        figures = found.setdefault(source, {})
        for step in FUNNEL_STEPS:
            figures[f"funnel.{step}"] = _number(funnel["steps"][step])
            if step != "joined":
                figures[f"conversion.{step}"] = _number(funnel["step_conversion"][step])
        referral = result["referrals"][source]
        figures["ref.joined"] = _number(referral["joined"])
        figures.update({f"ref.{k}": _number(referral[k]) for k in REFERRAL_FIGURES})
        figures.update(
            {f"source.{k}": _number(result["sources"][source][k]) for k in SOURCE_FIGURES}
        )
    return found


def _csv_tables(directory: Path) -> dict[str, dict[str, Any]]:
    tables = {}
    for slug in ("funnel", "sources", "referrals"):
        with (directory / f"{slug}.csv").open(encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        tables[slug] = {"columns": rows[0], "rows": rows[1:]}
    return tables


def _conversions(figures: dict[str, dict[str, float | None]]) -> None:
    """The tables name a conversion column "step_conversion"; key them by step."""
    for source in figures.values():
        for step in FUNNEL_STEPS[1:]:
            key = f"funnel.conversion.{step}"
            if key in source:
                source[f"conversion.{step}"] = source.pop(key)


@asynccontextmanager
async def _dashboard(url: str, now: datetime = END) -> AsyncIterator[_Api]:
    """The dashboard on ``url``'s database, signed in."""
    config = WarmlineConfig.model_validate(
        {
            **SETTINGS,
            "storage": {"database_url": url},
            "insight": {
                **SETTINGS["insight"],
                "dashboard": {
                    "enabled": True,
                    "admins": [{"username": "mei", "password_hash": hash_password(PASSWORD)}],
                },
            },
        }
    )
    db = Database(url)
    server = WebServer("127.0.0.1:0")
    mount(server.app, db.engine, config, ManualClock(now))
    await server.start()
    base = f"http://127.0.0.1:{server.port}/dashboard"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(base + "/login") as response:
                token = (await response.text()).split('name="csrf" value="')[1].split('"')[0]
            login = {"username": "mei", "password": PASSWORD, "csrf": token}
            async with http.post(base + "/login", data=login, allow_redirects=False) as response:
                assert response.status == 302

            async def get(path: str) -> dict[str, Any]:
                async with http.get(base + path) as response:
                    assert response.status == 200, path
                    if path.startswith("/api/"):
                        return dict(await response.json())
                    return {"html": await response.text()}

            yield get
    finally:
        await server.stop()
        await db.close()


async def _dashboard_tables(url: str) -> dict[str, dict[str, Any]]:
    async with _dashboard(url) as get:
        body = await get(f"/api/sources?from={START:%Y-%m-%d}&to={LAST_DAY}")
    return {slug: body["tables"][slug] for slug in ("funnel", "sources", "referrals")}


async def test_simulate_report_and_dashboard_agree(history: str, tmp_path: Path) -> None:
    simulated = await measure_history(_config(history), WINDOW.start, WINDOW.end, keep_sends=False)

    config = tmp_path / "config.yaml"
    config.write_text(
        WarmlineConfig.model_validate(
            {**SETTINGS, "storage": {"database_url": history}}
        ).model_dump_json(by_alias=True),
        encoding="utf-8",
    )
    csv_dir = tmp_path / "csv"
    command = [sys.executable, "-m", "bot", "report", "-c", str(config)]
    command += ["--from", f"{START:%Y-%m-%d}", "--to", LAST_DAY]
    command += ["--out", str(tmp_path / "report.html"), "--csv", str(csv_dir)]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=PIPE, stderr=PIPE, env=os.environ
    )
    _, errors = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, errors.decode()

    from_report = _figures(_csv_tables(csv_dir))
    from_dashboard = _figures(await _dashboard_tables(history))
    from_simulate = _from_simulate(simulated)
    for figures in (from_report, from_dashboard):
        _conversions(figures)

    assert from_simulate == from_report == from_dashboard
    assert sorted(from_report) == ["ads", "direct", "group"]
    assert len(from_report["ads"]) == 7 + 6 + 4 + len(SOURCE_FIGURES)
    # and they are the hand-worked answers, not three equal mistakes
    assert simulated["funnel"] == dict(zip(FUNNEL_STEPS, (4, 3, 2, 2, 3, 2, 1), strict=True))
    assert from_report["ads"]["source.cac"] == 10
    assert from_report["group"]["source.cac"] == 4  # 120 per 30 days, one day of members
    assert from_report["ads"]["ref.k_factor"] == 0.5
    assert simulated["referrals"]["all"]["referrers"] == 1


async def test_a_period_without_data_says_where_the_data_is(history: str, tmp_path: Path) -> None:
    """The history ends in May 2026 and the clock says December: the default period
    covers the data, and an empty period names the data's dates."""
    now = END + timedelta(days=200)
    db = Database(history)
    try:
        async with db.engine.connect() as conn:
            span = await data_span(conn)
            window = default_window(span, now)
            assert await joined_in_window(conn, window) == 6  # everyone
            empty = await empty_period(conn, Window.from_dates(None, None, now))
    finally:
        await db.close()
    assert span is not None and (span.first_day, span.last_day) == (
        date(2025, 12, 20),
        date(2026, 6, 1),
    )
    assert (window.start.date(), window.end.date()) == (date(2025, 12, 20), date(2026, 6, 2))
    assert empty is not None
    assert empty.message().endswith("The data runs from 2025-12-20 – 2026-06-01.")
    assert empty.suggestion() == (date(2025, 12, 20), date(2026, 6, 1))

    report = await write_report(_config(history), None, tmp_path / "r.html", now=now)
    assert report.window == window and report.empty is None
    report = await write_report(
        _config(history), Window.from_dates(None, None, now), tmp_path / "e.html", now=now
    )
    assert report.empty is not None
    assert "--from 2025-12-20 --to 2026-06-01" in (tmp_path / "e.html").read_text("utf-8")

    async with _dashboard(history, now) as get:
        default = await get("/api/overview")
        assert (default["from"][:10], "empty" in default) == ("2025-12-20", False)
        later = await get("/api/cohorts?from=2026-09-01&to=2026-09-30")
        assert later["empty"] == (
            "No member joined in 2026-09-01 – 2026-09-30. "
            "The data runs from 2025-12-20 – 2026-06-01."
        )
        assert (later["data_from"], later["data_to"]) == ("2025-12-20", "2026-06-01")
        page = (await get("/cohorts?from=2026-09-01&to=2026-09-30"))["html"]
        assert 'id="empty-period"' in page
        assert "/dashboard/cohorts?from=2025-12-20&amp;to=2026-06-01" in page
