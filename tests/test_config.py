from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.adapters.telegram_platform import telegram_config
from bot.config import WarmlineConfig, load_config, parse_duration
from bot.config.model import BotConfig
from bot.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        (0, 0),
        (90, 90),
        ("90s", 90),
        ("30m", 1800),
        ("2h", 7200),
        ("7d", 604800),
        ("1.5h", 5400),
        ("45", 45),
    ],
)
def test_durations(given: object, seconds: float) -> None:
    assert parse_duration(given) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["soon", "-5", -5, "5y", True, None])
def test_bad_durations_name_the_accepted_forms(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_example_config_is_valid_and_local() -> None:
    config = load_config(REPO / "config.example.yaml", env={})
    assert config.bot.platform == "local"
    assert config.storage.database_url.startswith("sqlite+aiosqlite://")
    assert config.storage.redis_url is None


def test_a_dump_keeps_the_features_sections_and_loads_back() -> None:
    """Features' sections are dumped beside the core's (the simulation copies a config
    this way), so the copy has the user's settings, not the sections' defaults."""
    config = load_config(REPO / "config.example.yaml", env={})
    data = config.model_dump(by_alias=True)
    assert {"moderation", "insight"} <= set(data)
    assert data["moderation"]["captcha"]["mode"] == "button"  # as the example sets it
    assert WarmlineConfig.model_validate(data).model_dump(by_alias=True) == data


def test_public_key_paths_exist() -> None:
    config = load_config(REPO / "config.example.yaml", env={})
    for dotted in (
        "bot.platform",
        "bot.admins",
        "bot.telegram.token",
        "bot.telegram.library",
        "bot.telegram.api_base",
        "bot.telegram.mode",
        "storage.database_url",
        "storage.redis_url",
    ):
        node: object = config
        for part in dotted.split("."):
            if isinstance(node, BotConfig) and part not in BotConfig.model_fields:
                node = node.platform_section(part, BaseModel)  # a platform's own section
                assert node is not None, dotted
                continue
            assert part in type(node).model_fields, dotted  # type: ignore[attr-defined]
            node = getattr(node, part)


def test_typo_names_key_file_line_and_choices(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("bot:\n  platform: telegram\n  telegram:\n    token: x\n    library: telegrm\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert str(info.value) == (
        f"{path}:5: bot.telegram.library: must be one of aiogram, ptb (got 'telegrm')"
    )


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("storage:\n  databse_url: sqlite+aiosqlite:///x.db\n")
    with pytest.raises(ConfigError, match=r"config.yaml:2: storage.databse_url: unknown key"):
        load_config(path, env={})


def test_the_cores_and_the_sections_errors_are_named_together(tmp_path: Path) -> None:
    """A typo in the core does not hide one in a feature's or a platform's section."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "storage:\n  databse_url: x\nflows:\n  tick: soon\nbot:\n  wecom:\n    agent_id: x\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    lines = str(info.value).splitlines()
    assert (
        lines[0]
        == f"{path}:2: storage.databse_url: unknown key (check the spelling against config.example.yaml)"
    )
    assert lines[1].startswith(f"{path}:7: bot.wecom.agent_id: Input should be a valid integer")
    assert lines[2].startswith(f"{path}:4: flows.tick: ")
    assert len(lines) == 3


def test_missing_token_says_how_to_set_it(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("bot:\n  platform: telegram\n")
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        load_config(path, env={})


def test_environment_overrides(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("bot:\n  platform: telegram\n")
    config = load_config(
        path,
        env={
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "WARMLINE_DATABASE_URL": "sqlite+aiosqlite:///other.db",
            "WARMLINE_REDIS_URL": "redis://127.0.0.1:6379/3",
        },
    )
    assert telegram_config(config).token == "123:abc"
    assert config.storage.database_url == "sqlite+aiosqlite:///other.db"
    assert config.storage.redis_url == "redis://127.0.0.1:6379/3"


def test_broken_yaml_points_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("bot:\n  platform: local\n  admins: [1, 2\n")
    with pytest.raises(ConfigError, match=r"config.yaml:\d+: not valid YAML"):
        load_config(path, env={})


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml", env={})


def test_admin_ids_become_strings(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("bot:\n  admins: [123456789, '42']\n")
    assert load_config(path, env={}).bot.admins == ["123456789", "42"]
