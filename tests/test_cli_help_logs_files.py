"""What a newcomer meets first: `-h`, a quiet terminal chat, and where /mydata went."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.adapters.local_chat import save_file
from bot.cli import app
from bot.cli.logs import setup_logging

runner = CliRunner()


@pytest.mark.parametrize(
    "command",
    [[], ["chat"], ["run"], ["config"], ["config", "check"], ["kb", "ask"], ["push"], ["simulate"]],
)
def test_dash_h_is_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "-h"], prog_name="warmline")
    assert result.exit_code == 0, result.output
    assert "Usage: warmline" in result.output
    assert result.output == runner.invoke(app, [*command, "--help"], prog_name="warmline").output


def test_libraries_stay_quiet_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    """bm25s sets its own logger to DEBUG on import; that must not reach the terminal."""
    chatty = logging.getLogger("bm25s")
    chatty.setLevel(logging.DEBUG)
    ours = logging.getLogger("warmline.test")
    root = logging.getLogger()
    before = root.level
    try:
        setup_logging(logging.INFO, "WARNING", "%(levelname)s %(name)s: %(message)s")
        chatty.debug("Building index from tokens")
        chatty.info("library info")
        chatty.warning("library warning")
        ours.info("our info")
        ours.debug("our debug")
        err = capsys.readouterr().err
        assert "Building index" not in err and "library info" not in err
        assert "WARNING bm25s: library warning" in err
        assert "INFO warmline.test: our info" in err and "our debug" not in err
        setup_logging(logging.INFO, "DEBUG", "%(levelname)s %(name)s: %(message)s")
        chatty.debug("asked for")
        err = capsys.readouterr().err
        assert err.count("asked for") == 1, "a second setup replaces the first handler"
    finally:
        for handler in list(root.handlers):
            if type(handler).__name__ == "_CliHandler":
                root.removeHandler(handler)
        root.setLevel(before)


def test_mydata_says_where_the_file_was_written(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"storage:\n  database_url: sqlite+aiosqlite:///{tmp_path / 'w.db'}\n")
    files = tmp_path / "downloads"
    result = runner.invoke(
        app,
        ["chat", "-c", str(config), "--files", str(files)],
        input="/start\n/mydata\n/mydata\n:quit\n",
    )
    assert result.exit_code == 0, result.output
    first, second = files / "my-data.json", files / "my-data-2.json"
    assert f"saved to {first.resolve()}" in result.output
    assert f"saved to {second.resolve()}" in result.output, "a second export never overwrites"
    exported = json.loads(first.read_text(encoding="utf-8"))
    assert "guest" in json.dumps(exported)


def test_saved_files_stay_in_their_folder(tmp_path: Path) -> None:
    saved = save_file(tmp_path, "../../etc/evil.json", b"{}")
    assert saved == (tmp_path / "evil.json").resolve()
