"""`warmline simulate --keep-db` leaves a history that `warmline report` can read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from simulate.population import CHANNELS, SIM_EPOCH

runner = CliRunner()


@pytest.mark.parametrize("backend", ["memory", "sql"])
def test_simulated_history_feeds_the_report(tmp_path: Path, backend: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("knowledge:\n  enabled: false\n")
    history = tmp_path / "sim.db"
    args = ["simulate", "-c", str(config), "--members", "30", "--days", "10", "--seed", "5"]
    result = runner.invoke(app, [*args, "--gate-backend", backend, "--keep-db", str(history)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(history) as db:
        assert db.execute("select count(*) from members").fetchone()[0] >= 30
        assert db.execute("select count(*) from push_decisions").fetchone()[0] > 0
        # the sends ledger the report's push load reads, whichever gate kept it
        sent = db.execute(
            "select count(distinct member_id || ':' || message_key) from push_decisions "
            "where outcome = 'sent' and member_id is not null"
        ).fetchone()[0]
        assert sent > 0
        assert db.execute("select count(*) from push_sends").fetchone()[0] == sent
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
            "--out",
            str(out),
        ],
    )
    assert report.exit_code == 0, report.output
    html = out.read_text(encoding="utf-8")
    assert f"report for {SIM_EPOCH:%Y-%m-%d} – " in report.output
    assert 'id="empty-period"' not in html  # the default period covers the simulated days
    assert sum(channel in html for channel, _ in CHANNELS) >= 2  # acquisition sources
