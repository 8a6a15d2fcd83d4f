"""A platform declares what it brings besides its adapter through its registration
(bot.adapters.registry.Platform): its section ``bot.<platform>``, the environment
variables that override it, what must be set before it starts, and its sub-commands.
WeCom is registered that way; so is a third party's platform, shown here as a package
would register it under ``warmline.adapters``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from feature_support import install_platform
from feature_support import write_config as write
from pydantic import BaseModel
from typer.testing import CliRunner

from bot.adapters.local_platform import LocalConfig, local_config
from bot.adapters.registry import platform_names
from bot.adapters.telegram_platform import telegram_config
from bot.adapters.wecom.config import WeComConfig
from bot.cli import command_line
from bot.config import BotConfig, WarmlineConfig, load_config
from bot.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent

PLATFORM_MODULE = '''
"""Stall: a market-stall messenger, as a package would register it."""

import typer
from pydantic import BaseModel, ConfigDict, Field

from bot.adapters.local import LocalAdapter
from bot.adapters.registry import Platform


class StallConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_key: str = ""
    stalls: int = Field(default=1, ge=1)


def build(config, web):
    return LocalAdapter("stall_bot", admins=config.bot.admins)


def start_problem(section):
    if section is None or not section.api_key:
        return "stall.api_key", "required when bot.platform is stall; or export STALL_API_KEY"
    return None


def commands(cli):
    stall = typer.Typer(no_args_is_help=True, help="Stall: market stalls.")

    @stall.command("count")
    def count() -> None:
        """How many stalls there are."""
        print("3 stalls")

    cli.add_typer(stall, name="stall")


PLATFORM = Platform(
    "stall",
    "stall_platform:build",
    config=StallConfig,
    start_problem=start_problem,
    env={"STALL_API_KEY": "api_key"},
    commands=commands,
)
'''


@pytest.fixture
def stall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The platform installed: its module and its entry point."""
    package = tmp_path / "site"
    package.mkdir()
    (package / "stall_platform.py").write_text(PLATFORM_MODULE, "utf-8")
    install_platform(monkeypatch, package, "stall", "stall_platform")
    return tmp_path


def test_a_platforms_section_is_its_own(stall: Path) -> None:
    assert "stall" in platform_names()
    config = load_config(
        write(stall, "bot:\n  platform: stall\n  stall:\n    api_key: k1\n"), env={}
    )
    section = config.bot.platform_section("stall", BaseModel)
    assert section is not None and section.api_key == "k1"
    assert config.model_dump()["bot"]["stall"] == {"api_key": "k1", "stalls": 1}
    assert config.bot.platform_section("wecom", WeComConfig) is None


def test_a_platforms_errors_name_the_key_and_line(stall: Path) -> None:
    path = write(stall, "bot:\n  platform: local\n  stall:\n    api_key: k\n    stals: 2\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert str(caught.value).startswith(f"{path}:5: bot.stall.stals: unknown key")
    path = write(stall, "bot:\n  platform: stall\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert str(caught.value) == (
        f"{path}:1: bot.stall.api_key: required when bot.platform is stall; or export STALL_API_KEY"
    )
    result = CliRunner().invoke(command_line(), ["config", "check", "-c", str(path)])
    assert result.exit_code == 2
    assert "bot.stall.api_key: required when bot.platform is stall" in " ".join(
        result.output.split()
    )


def test_a_platforms_environment_overrides(stall: Path) -> None:
    config = load_config(write(stall, "bot:\n  platform: stall\n"), env={"STALL_API_KEY": "env"})
    section = config.bot.platform_section("stall", BaseModel)
    assert section is not None and section.api_key == "env"


def test_a_platforms_commands_are_offered(stall: Path) -> None:
    result = CliRunner().invoke(command_line(), ["stall", "count"])
    assert result.exit_code == 0, result.output
    assert "3 stalls" in result.output


def test_an_unregistered_platforms_section_is_an_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, "bot:\n  stall:\n    api_key: k\n")
    with pytest.raises(ConfigError, match=r"config.yaml:2: bot.stall: unknown key"):
        load_config(path, env={})


def test_wecom_declares_its_section_secrets_and_commands(tmp_path: Path) -> None:
    """Its keys, their errors and the two environment secrets, as before the move."""
    path = write(tmp_path, "bot:\n  platform: wecom\n  wecom:\n    corp_id: ww1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert str(caught.value) == (
        f"{path}:3: bot.wecom.secret: required when bot.platform is wecom "
        "(WeCom admin console); or export WECOM_CORP_SECRET"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "bot:\n  platform: wecom\n"), env={})
    assert str(caught.value).endswith(
        "config.yaml:1: bot.wecom: required when bot.platform is wecom (docs/wecom.md)"
    )
    with pytest.raises(ConfigError, match=r"config.yaml:4: bot.wecom.agent_id: "):
        load_config(write(tmp_path, "bot:\n  wecom:\n    corp_id: ww1\n    agent_id: x\n"), env={})
    config = load_config(
        write(tmp_path, "bot:\n  wecom:\n    corp_id: ww1\n"),
        env={"WECOM_CORP_SECRET": "s3", "WECOM_ENCODING_AES_KEY": "k" * 43},
    )
    wecom = config.bot.platform_section("wecom", WeComConfig)
    assert wecom is not None
    assert (wecom.corp_id, wecom.secret, wecom.encoding_aes_key) == ("ww1", "s3", "k" * 43)
    data = config.model_dump(by_alias=True)
    assert data["bot"]["wecom"]["corp_id"] == "ww1"
    assert WarmlineConfig.model_validate(data).model_dump(by_alias=True) == data
    result = CliRunner().invoke(command_line(), ["wecom", "-h"])
    assert result.exit_code == 0 and "contact-way" in result.output


def test_telegram_declares_its_section_token_and_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bot.telegram`` is Telegram's own section now, with the same keys and errors."""
    path = write(tmp_path, "bot:\n  platform: telegram\n  telegram:\n    library: ptb\n")
    with pytest.raises(ConfigError, match=r"config.yaml:3: bot.telegram.token: required"):
        load_config(path, env={})
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    config = load_config(path)
    assert telegram_config(config).token == "123:abc"
    result = CliRunner().invoke(command_line(), ["config", "check", "-c", str(path)])
    assert result.exit_code == 0, result.output
    assert "config OK: platform=telegram library=ptb mode=polling" in result.output
    assert telegram_config(load_config(write(tmp_path, "bot: {}\n"), env={})).library == "aiogram"


def test_local_declares_its_section_and_chat(tmp_path: Path) -> None:
    """``bot.local`` is the local platform's own section: the same keys, defaults and
    errors as when the core's model held it, and read whatever ``bot.platform`` says."""
    assert "local" not in BotConfig.model_fields
    example = load_config(REPO / "config.example.yaml", env={})
    assert local_config(example) == LocalConfig(
        bot_username="warmline_bot", demo_group="Camellia Tea Club"
    )
    assert local_config(load_config(write(tmp_path, "bot: {}\n"), env={})) == LocalConfig()
    path = write(tmp_path, "bot:\n  local:\n    bot_usernme: x\n")
    assert load_error(path).startswith(f"{path}:3: bot.local.bot_usernme: unknown key")
    # another platform chosen: the section is still checked, beside that platform's own
    path = write(tmp_path, "bot:\n  platform: telegram\n  local:\n    demo_group: [x]\n")
    assert load_error(path).splitlines() == [
        f"{path}:4: bot.local.demo_group: Input should be a valid string",
        f"{path}:1: bot.telegram.token: required when bot.platform is telegram; put the "
        "token from @BotFather under bot.telegram.token or export TELEGRAM_BOT_TOKEN",
    ]
    config = load_config(
        write(tmp_path, "bot:\n  platform: telegram\n  local:\n    bot_username: shop_bot\n"),
        env={"TELEGRAM_BOT_TOKEN": "123:abc"},
    )
    assert local_config(config).bot_username == "shop_bot"
    data = config.model_dump(by_alias=True)
    assert data["bot"]["local"] == {"bot_username": "shop_bot", "demo_group": "Camellia Tea Club"}
    assert WarmlineConfig.model_validate(data).model_dump(by_alias=True) == data
    result = CliRunner().invoke(command_line(), ["chat", "-h"])
    assert result.exit_code == 0 and "--files" in result.output


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    return str(caught.value)


def test_the_cores_config_and_command_line_name_no_platform() -> None:
    """Which platforms exist is the registry's business (bot/platforms.py); the config
    model, its loader and the core's commands name none in their code (their prose
    may, as an example)."""
    named = []
    for folder in ("config", "cli"):
        for path in sorted((REPO / "bot" / folder).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"))
            prose = {id(node) for node in docstrings(tree)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    word = "" if id(node) in prose else node.value
                else:
                    word = getattr(node, "id", None) or getattr(node, "attr", None) or ""
                if re.search(r"(?i)\b(local|telegram|wecom)\b", str(word)):
                    named.append(f"{path.relative_to(REPO)}:{node.lineno}: {word!r}")
    assert named == []


def docstrings(tree: ast.Module) -> list[ast.Constant]:
    """The docstrings of a module, its classes and functions."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.append(first.value)
    return found
