"""``warmline report``: one self-contained HTML file (checked in Chromium with
the network watched), CSV of every table, and the command line around it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from browser_support import launch, needs_chromium
from insight_history import END, WINDOW, build_history
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.config.model import WarmlineConfig
from bot.schema import with_feature_tables
from insight.config import insight_config
from insight.passwords import verify_password
from insight.report import write_report
from storage.database import Database

ARTIFACTS = Path(__file__).parent / "artifacts"


def _config(url: str) -> WarmlineConfig:
    return WarmlineConfig.model_validate(
        {
            "storage": {"database_url": url},
            "push": {"caps": {"per_week": 2}},
            "flows": {"products": {"tea": {"name": "Tea", "cycle": "30d"}}},
            "insight": {"sources": {"ads": {"cost_per_member": 10}}},
        }
    )


async def _history(url: str) -> None:
    db = with_feature_tables(Database(url))
    try:
        await db.migrate()
        await build_history(db.engine)
    finally:
        await db.close()


async def test_report_and_csv(database_url: str, tmp_path: Path) -> None:
    await _history(database_url)
    out = tmp_path / "report.html"
    result = await write_report(_config(database_url), WINDOW, out, tmp_path / "csv", now=END)
    html = out.read_text(encoding="utf-8")
    assert html.count('class="plotly-graph-div"') == 6
    assert "<script src=" not in html and '<link rel="stylesheet"' not in html
    assert "default-src 'none'" in html  # the page may not fetch anything
    assert FIGURE_HINT in html
    names = {p.name for p in result.csv_files}
    assert {"funnel.csv", "sources.csv", "cohorts.csv", "push_load.csv", "members.csv"} <= names
    with (tmp_path / "csv" / "sources.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    ads = next(r for r in rows if r["source"] == "ads")
    assert (ads["joined"], ads["cac"], ads["ltv"], ads["payback_days"]) == (
        "2",
        "10.0",
        "80.0",
        "12",
    )
    with (tmp_path / "csv" / "members.csv").open(encoding="utf-8") as handle:
        members = list(csv.DictReader(handle))
    assert result.members == len(members) == 4
    assert [m["orders"] for m in members] == ["2", "0", "1", "3"]


FIGURE_HINT = "Revenue to the end of the period ÷ members joined in the period."


@needs_chromium
async def test_report_opens_offline_in_chromium(sqlite_url: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    await _history(sqlite_url)
    out = tmp_path / "report.html"
    await write_report(_config(sqlite_url), WINDOW, out, now=END)
    # a strict policy: plotly's inline bundle runs without building code from strings, so a
    # CSP violation would show up as a console error below
    assert "'unsafe-eval'" not in out.read_text(encoding="utf-8")
    requests: list[str] = []
    problems: list[str] = []
    async with async_playwright() as p:
        browser = await launch(p)
        context = await browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        await page.goto(out.as_uri())
        await page.wait_for_function(
            "document.querySelectorAll('.js-plotly-plot .main-svg').length >= 6"
        )
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=ARTIFACTS / "report.png", full_page=True)
        await browser.close()
    assert requests == [out.as_uri()]
    assert problems == []


def test_report_command(sqlite_url: str, tmp_path: Path) -> None:
    import asyncio

    asyncio.run(_history(sqlite_url))
    config = tmp_path / "config.yaml"
    config.write_text(f"storage:\n  database_url: {sqlite_url}\n", encoding="utf-8")
    out = tmp_path / "r.html"
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "report",
            "-c",
            str(config),
            "--from",
            "2026-01-05",
            "--to",
            "2026-05-04",
            "--out",
            str(out),
            "--csv",
            str(tmp_path / "csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.is_file() and "written to" in result.output
    bad = runner.invoke(
        cli, ["report", "-c", str(config), "--from", "2026-05-04", "--to", "2026-01-05"]
    )
    assert bad.exit_code == 2 and "the period is empty" in bad.output
    wrong = runner.invoke(cli, ["report", "-c", str(config), "--from", "yesterday"])
    assert wrong.exit_code == 2 and "--from" in wrong.output


def test_hash_password_command() -> None:
    result = CliRunner().invoke(cli, ["insight", "hash-password", "--password", "oolong"])
    assert result.exit_code == 0
    stored = result.output.strip()
    assert verify_password("oolong", stored) and not verify_password("puer", stored)
    config = WarmlineConfig.model_validate(
        {"insight": {"dashboard": {"admins": [{"username": "mei", "password_hash": stored}]}}}
    )
    assert insight_config(config).dashboard.admins[0].username == "mei"


def test_plain_passwords_and_double_costs_are_config_errors() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="hash-password"):
        WarmlineConfig.model_validate(
            {
                "insight": {
                    "dashboard": {"admins": [{"username": "mei", "password_hash": "hunter2"}]}
                }
            }
        )
    with pytest.raises(ValidationError, match="either cost_per_member or spend"):
        WarmlineConfig.model_validate(
            {"insight": {"sources": {"ads": {"cost_per_member": 1, "spend": 5}}}}
        )
