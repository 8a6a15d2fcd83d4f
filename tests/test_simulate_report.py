"""`warmline simulate --keep-db` leaves a history that `warmline report` can read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from flows.simulate.population import CHANNELS

runner = CliRunner()


def test_simulated_history_feeds_the_report(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("knowledge:\n  enabled: false\n")
    history = tmp_path / "sim.db"
    args = ["simulate", "-c", str(config), "--members", "30", "--days", "10", "--seed", "5"]
    result = runner.invoke(app, [*args, "--gate-backend", "sql", "--keep-db", str(history)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(history) as db:
        assert db.execute("select count(*) from members").fetchone()[0] >= 30
        assert db.execute("select count(*) from push_decisions").fetchone()[0] > 0
        # members came through several deep-link channels (/start src-<channel>)
        sources = {row[0] for row in db.execute("select distinct source from members")}
        assert len(sources & {channel for channel, _ in CHANNELS}) >= 2
        # what they did was noted for retention, past their first week too
        assert db.execute("select count(*) from insight_activity where weeks > 1").fetchone()[0]

    again = runner.invoke(app, [*args, "--keep-db", str(history)])
    assert again.exit_code == 2 and "already exists" in again.output

    report_config = tmp_path / "report.yaml"
    report_config.write_text(
        f"storage:\n  database_url: sqlite+aiosqlite:///{history}\nknowledge:\n  enabled: false\n"
    )
    out = tmp_path / "report.html"
    report = runner.invoke(
        app,
        [
            "report",
            "-c",
            str(report_config),
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--out",
            str(out),
        ],
    )
    assert report.exit_code == 0, report.output
    html = out.read_text(encoding="utf-8")
    assert sum(channel in html for channel, _ in CHANNELS) >= 2  # acquisition sources
