"""The CLI as a user meets it: exit codes and messages, chat over stdin, db upgrade."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()


def test_config_check_accepts_the_example() -> None:
    result = runner.invoke(app, ["config", "check", "-c", str(REPO / "config.example.yaml")])
    assert result.exit_code == 0, result.output
    assert "config OK: platform=local" in result.output


def test_config_check_names_the_bad_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("bot:\n  platform: telegram\n  telegram:\n    token: x\n    mode: pull\n")
    result = runner.invoke(app, ["config", "check", "-c", str(path)])
    assert result.exit_code == 2
    assert "bot.telegram.mode: must be one of polling, webhook (got 'pull')" in result.output


def test_chat_as_member_and_admin(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"bot:\n  admins: [boss]\nstorage:\n  database_url: sqlite+aiosqlite:///{tmp_path / 'w.db'}\n"
    )
    script = "/start src-flyer\n:as Alice\n/start\n:admin\n/help\n:quit\n"
    result = runner.invoke(app, ["chat", "-c", str(config)], input=script)
    assert result.exit_code == 0, result.output
    assert "welcome" in result.output.lower()
    assert "Hi Alice" in result.output
    assert "you are Admin (boss)" in result.output


def test_chat_says_when_the_first_start_indexes_the_knowledge_base(tmp_path: Path) -> None:
    """The knowledge feature notes its slow first start; chat prints what features note."""
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "faq.yaml").write_text(
        "- id: hours\n  question_en: When are you open?\n  answer_en: 9 to 5.\n"
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        f"storage:\n  database_url: sqlite+aiosqlite:///{tmp_path / 'w.db'}\n"
        "knowledge:\n  sources: [kb]\n  index_dir: index\n"
    )
    wide = {"COLUMNS": "300"}  # the path on one line
    first = runner.invoke(app, ["chat", "-c", str(config)], input=":quit\n", env=wide)
    assert first.exit_code == 0, first.output
    expected = f"first start: indexing the knowledge base into {tmp_path / 'index'}"
    assert expected in " ".join(first.output.split())
    again = runner.invoke(app, ["chat", "-c", str(config)], input=":quit\n")
    assert again.exit_code == 0, again.output
    assert "first start" not in again.output


def test_db_upgrade_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"storage:\n  database_url: {pg_url}\n")
    result = runner.invoke(app, ["db", "upgrade", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "up to date" in " ".join(result.output.split())  # a long URL wraps the line
    again = runner.invoke(app, ["db", "upgrade", "-c", str(config)])
    assert again.exit_code == 0


def test_run_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"storage:\n  database_url: sqlite+aiosqlite:///{tmp_path / 'w.db'}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "-c", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 60
    output = ""
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        output += line
        if "Warmline started" in line or not line:
            break
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=30)
    assert process.returncode == 0, output + rest
    assert "finishing in-flight updates" in output + rest
