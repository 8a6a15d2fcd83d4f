"""``http:`` is the shared HTTP server's section; its old keys are read as aliases."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app import App
from bot.cli import app as cli
from bot.config.loader import load_config
from bot.errors import ConfigError
from knowledge.config import knowledge_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_http_listen_and_limits_are_their_own_section(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, "http:\n  listen: 0.0.0.0:9001\n  max_connections: 64\n"), env={}
    )
    assert config.http.listen == "0.0.0.0:9001" and config.http.max_connections == 64
    assert config.deprecations == []


def test_the_old_keys_are_read_with_a_deprecation_warning(tmp_path: Path) -> None:
    text = (
        "bot:\n  http:\n    idle_timeout: 5s\n"
        "  telegram:\n    webhook:\n      listen: 0.0.0.0:9002\n"
    )
    config = load_config(write(tmp_path, text), env={})
    assert config.http.listen == "0.0.0.0:9002"
    assert config.http.idle_timeout.total_seconds() == 5
    assert config.http.max_connections == 512  # not set anywhere: the default
    assert [note.split(" ")[0] for note in config.deprecations] == [
        "bot.telegram.webhook.listen",
        "bot.http.idle_timeout",
    ]
    result = CliRunner().invoke(cli, ["config", "check", "-c", str(tmp_path / "config.yaml")])
    assert result.exit_code == 0, result.output
    assert "bot.telegram.webhook.listen is deprecated" in " ".join(result.output.split())


def test_both_keys_set_must_be_equal(tmp_path: Path) -> None:
    same = "http:\n  listen: 0.0.0.0:9003\nbot:\n  telegram:\n    webhook:\n      listen: 0.0.0.0:9003\n"
    assert load_config(write(tmp_path, same), env={}).http.listen == "0.0.0.0:9003"
    differ = same.replace("listen: 0.0.0.0:9003\n", "listen: 127.0.0.1:9004\n", 1)
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, differ), env={})
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'config.yaml'}:2: http.listen: "), message
    assert "bot.telegram.webhook.listen" in message and "0.0.0.0:9003" in message
    limits = "http:\n  body_timeout: 20s\nbot:\n  http:\n    body_timeout: 30s\n"
    with pytest.raises(ConfigError, match=r"http\.body_timeout: .*bot\.http\.body_timeout"):
        load_config(write(tmp_path, limits), env={})


def test_warmline_listen_overrides_http_listen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = f"http:\n  listen: 127.0.0.1:9005\nstorage:\n  database_url: sqlite+aiosqlite:///{tmp_path}/w.db\n"
    config = load_config(write(tmp_path, text), env={})
    knowledge_config(config).enabled = False
    assert (App(config).web.host, App(config).web.port) == ("127.0.0.1", 9005)
    monkeypatch.setenv("WARMLINE_LISTEN", "127.0.0.1:9006")
    assert App(config).web.port == 9006
