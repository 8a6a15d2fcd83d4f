"""`warmline config check` fails wherever `warmline run` would fail at start, naming the key.

Each case is a config that used to pass the check and then stop `run` (a traceback, or
"Cannot start" after the database was opened). Both commands now stop at the loader with
the same ``file:line: key: message``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.adapters.telegram_base import bot_id_of
from bot.adapters.telegram_platform import TelegramConfig, telegram_config
from bot.cli import app
from bot.config import load_config
from bot.errors import ConfigError
from bot.web import WebServer
from flows.config import flows_config
from knowledge.config import knowledge_config

runner = CliRunner()

CASES = {
    "missing knowledge source": (
        "knowledge:\n  sources:\n    - examples/nowhere\n",
        r"config.yaml:3: knowledge.sources.0: .*/examples/nowhere: knowledge source not found",
    ),
    "unsupported knowledge file": (
        "knowledge:\n  sources: [config.yaml.bak]\n",
        r"config.yaml:2: knowledge.sources.0: .*config.yaml.bak: unsupported knowledge file type",
    ),
    "malformed token": (
        "bot:\n  platform: telegram\n  telegram:\n    token: not-a-token\n",
        r"config.yaml:4: bot.telegram.token: must look like 123456789:AA",
    ),
    "missing token": (
        "bot:\n  platform: telegram\n",
        r"config.yaml:\d: bot.telegram.token: required when bot.platform is telegram.*"
        "TELEGRAM_BOT_TOKEN",
    ),
    "listen without port": (
        "bot:\n  telegram:\n    webhook:\n      listen: localhost\n",
        r"config.yaml:4: bot.telegram.webhook.listen: listen address must look like "
        r"127.0.0.1:8080 \(got 'localhost'\)",
    ),
    "listen port out of range": (
        "insight:\n  dashboard:\n    listen: 127.0.0.1:99999\n",
        r"config.yaml:3: insight.dashboard.listen: listen address must look like",
    ),
    "mysql database": (
        "storage:\n  database_url: mysql://shop:hunter2@db/shop\n",
        r"config.yaml:2: storage.database_url: unsupported database 'mysql'; use "
        r"sqlite\+aiosqlite:///FILE or postgresql\+asyncpg://USER@HOST/DB "
        r"\(got 'mysql://shop:\*\*\*@db/shop'\)",
    ),
    "synchronous sqlite driver": (
        "storage:\n  database_url: sqlite:///warmline.db\n",
        r"config.yaml:2: storage.database_url: the driver 'sqlite' is not asynchronous; "
        r"use sqlite\+aiosqlite:///FILE",
    ),
    "synchronous postgresql driver": (
        "storage:\n  database_url: postgresql+psycopg2://u@h/db\n",
        r"config.yaml:2: storage.database_url: the driver 'postgresql\+psycopg2' is not "
        r"asynchronous",
    ),
    "not a url": (
        "storage:\n  database_url: warmline.db\n",
        r"config.yaml:2: storage.database_url: not a database URL",
    ),
    "sqlite folder missing": (
        "storage:\n  database_url: sqlite+aiosqlite:////no/such/folder/w.db\n",
        r"config.yaml:2: storage.database_url: the folder '/no/such/folder' of the SQLite "
        r"file does not exist",
    ),
    "redis url scheme": (
        "storage:\n  redis_url: http://127.0.0.1:6379\n",
        r"config.yaml:2: storage.redis_url: Redis URL must specify one of the following schemes",
    ),
    "redis backend without redis": (
        "push:\n  backend: redis\n",
        r"config.yaml:2: push.backend: redis needs storage.redis_url",
    ),
    "short callback secret": (
        "bot:\n  callback_secret: tooshort\n",
        r"config.yaml:2: bot.callback_secret: must be at least 16 bytes \(got 8\)",
    ),
    "secret_token with a space": (
        "bot:\n  telegram:\n    webhook:\n      secret_token: 'my secret'\n",
        r"config.yaml:4: bot.telegram.webhook.secret_token: Telegram accepts 1-256 characters "
        r"of A-Z a-z 0-9 _ - only \(got 9 characters, including ' '\)",
    ),
    "secret_token too long": (
        "bot:\n  telegram:\n    webhook:\n      secret_token: " + "a" * 257 + "\n",
        r"config.yaml:4: bot.telegram.webhook.secret_token: Telegram accepts 1-256 characters",
    ),
    "webhook without secret_token": (
        "bot:\n  platform: telegram\n  telegram:\n    token: '123:AAx'\n    mode: webhook\n",
        r"config.yaml:\d: bot.telegram.webhook.secret_token: required in webhook mode",
    ),
    "llm without provider": (
        "knowledge:\n  llm:\n    enabled: true\n",
        r"config.yaml:2: knowledge.llm.provider: required when knowledge.llm.enabled is true",
    ),
    "missing flow folder": (
        "flows:\n  directories: [my-flows]\n",
        r"config.yaml:2: flows.directories.0: .*/my-flows: flow directory not found",
    ),
    "missing content folder": (
        "flows:\n  content:\n    directories: [tips]\n",
        r"config.yaml:3: flows.content.directories.0: .*/tips: content directory not found",
    ),
}


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config folder, with the cwd elsewhere: relative paths must start at the file."""
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "config.yaml.bak").write_text("old\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for variable in ("TELEGRAM_BOT_TOKEN", "WARMLINE_DATABASE_URL", "WARMLINE_REDIS_URL"):
        monkeypatch.delenv(variable, raising=False)
    return folder


@pytest.mark.parametrize("case", CASES)
def test_check_and_run_fail_alike(case: str, config_dir: Path) -> None:
    text, expected = CASES[case]
    if "storage:" not in text:  # keep the database out of the cwd; the lines above stay put
        text += f"storage:\n  database_url: sqlite+aiosqlite:///{config_dir}/w.db\n"
    path = config_dir / "config.yaml"
    path.write_text(text)
    for command in (["config", "check"], ["run"]):
        result = runner.invoke(app, [*command, "-c", str(path)])
        assert result.exit_code == 2, (command, result.output)
        assert "Traceback" not in result.output
        assert re.search(expected, result.output), (command, expected, result.output)
    assert not (config_dir / "w.db").exists(), "nothing may start before the config is valid"


def test_relative_sources_start_at_the_config_file(config_dir: Path) -> None:
    (config_dir / "kb").mkdir()
    (config_dir / "kb" / "faq.yaml").write_text(
        "- id: hours\n  question_en: When are you open?\n  answer_en: 9 to 5.\n"
    )
    path = config_dir / "config.yaml"
    path.write_text("knowledge:\n  sources: [kb]\nflows:\n  content:\n    directories: [kb]\n")
    config = load_config(path, env={})
    assert knowledge_config(config).source_paths() == [config_dir / "kb"]
    assert knowledge_config(config).index_path() == config_dir / ".warmline-kb"
    assert flows_config(config).content.directories == [str(config_dir / "kb")]


def test_a_disabled_knowledge_base_needs_no_sources(config_dir: Path) -> None:
    path = config_dir / "config.yaml"
    path.write_text("knowledge:\n  enabled: false\n  sources: [gone]\n")
    assert knowledge_config(load_config(path, env={})).enabled is False


def test_token_from_the_environment_is_checked_too(config_dir: Path) -> None:
    path = config_dir / "config.yaml"
    path.write_text("bot:\n  platform: telegram\n")
    with pytest.raises(ConfigError, match=r"bot.telegram.token: must look like"):
        load_config(path, env={"TELEGRAM_BOT_TOKEN": "123456789 AAbc"})


def test_valid_values_pass(config_dir: Path) -> None:
    path = config_dir / "config.yaml"
    path.write_text(
        "bot:\n  platform: telegram\n  callback_secret: sixteen-bytes-ok\n"
        "  telegram:\n    token: '123456789:AAbc_-x'\n    mode: webhook\n"
        "    webhook:\n      listen: '[::1]:8443'\n      secret_token: " + "A-z_9" * 51 + "\n"
        "storage:\n  database_url: postgresql+asyncpg://shop@127.0.0.1:5432/shop\n"
        "  redis_url: redis://127.0.0.1:6379/0\n"
    )
    config = load_config(path, env={})
    assert telegram_config(config).webhook.secret_token == "A-z_9" * 51  # 255 characters


def test_check_parses_the_files_run_would_read(config_dir: Path) -> None:
    """Paths exist but a file behind them is broken: run would stop; so does the check."""
    (config_dir / "kb").mkdir()
    (config_dir / "kb" / "faq.yaml").write_text("- id: a\n  question_en: x\n")  # no answer
    path = config_dir / "config.yaml"
    path.write_text("knowledge:\n  sources: [kb]\n")
    result = runner.invoke(app, ["config", "check", "-c", str(path)])
    assert result.exit_code == 2
    assert "knowledge.sources: " in result.output and "has no answer_zh or answer_en" in (
        result.output
    )


def test_runtime_parts_say_the_same() -> None:
    """A config built in code skips the loader; the adapter and server use the same checks."""
    with pytest.raises(ConfigError, match=r"^bot.telegram.token: must look like 123456789:AA"):
        bot_id_of(TelegramConfig(token="abc").token)
    with pytest.raises(ValueError, match=r"listen address must look like 127\.0\.0\.1:8080"):
        WebServer("localhost")
