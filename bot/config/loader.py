"""Load YAML, apply environment overrides, validate, and explain mistakes.

Errors name the dotted key and, when the key is in the file, its line:
``config.yaml:4: logging.level: must be one of DEBUG, INFO, WARNING, ERROR (got 'LOUD')``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.config.checks import CONFIG_DIR, KeyProblem
from bot.config.model import WarmlineConfig
from bot.config.safe_yaml import compose_and_load
from bot.errors import ConfigError
from bot.platforms import platforms

DEFAULT_CANDIDATES = ("config.yaml", "config.example.yaml")

#: environment variable → dotted key it overrides (the core's; each platform declares
#: its own, ``Platform.env``: see :func:`env_overrides`)
ENV_OVERRIDES: dict[str, str] = {
    "WARMLINE_DATABASE_URL": "storage.database_url",
    "WARMLINE_REDIS_URL": "storage.redis_url",
    "WARMLINE_PLATFORM": "bot.platform",
}


def env_overrides() -> dict[str, str]:
    """The core's environment overrides and every registered platform's, below
    ``bot.<platform>`` (``Platform.env``: variable → key below the section)."""
    found = dict(ENV_OVERRIDES)
    for platform in platforms().values():
        for variable, key in platform.env.items():
            found[variable] = f"bot.{platform.name}.{key}"
    return found


def resolve_config_path(path: str | Path | None) -> Path | None:
    """``-c`` if given, else ``config.yaml``, else ``config.example.yaml``, else None."""
    if path is not None:
        candidate = Path(path)
        if not candidate.is_file():
            raise ConfigError(f"{candidate}: config file not found")
        return candidate
    for name in DEFAULT_CANDIDATES:
        if Path(name).is_file():
            return Path(name)
    return None


def load_config(
    path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> WarmlineConfig:
    """Load and validate; raise :class:`ConfigError` with one clear message."""
    env = os.environ if env is None else env
    source = resolve_config_path(path)
    data: dict[str, Any] = {}
    lines: dict[tuple[str, ...], int] = {}
    if source is not None:
        data, lines = _read_yaml(source)
    for variable, dotted in env_overrides().items():
        value = env.get(variable)
        if value:
            _set_dotted(data, dotted.split("."), value)
    folder = source.resolve().parent if source is not None else Path.cwd()
    try:
        return WarmlineConfig.model_validate(data, context={CONFIG_DIR: folder})
    except ValidationError as exc:
        raise ConfigError(_explain(exc, source, lines)) from None


def _read_yaml(source: Path) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    text = source.read_text(encoding="utf-8")
    try:
        node, data = compose_and_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else str(source)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections")
    lines: dict[tuple[str, ...], int] = {}
    _index_lines(node, (), lines)
    return data, lines


def _index_lines(
    node: yaml.Node | None, prefix: tuple[str, ...], out: dict[tuple[str, ...], int]
) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, str(key_node.value))
            out[path] = key_node.start_mark.line + 1
            _index_lines(value_node, path, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = (*prefix, str(index))
            out[path] = item.start_mark.line + 1
            _index_lines(item, path, out)


def _set_dotted(data: dict[str, Any], keys: list[str], value: object) -> None:
    target = data
    for key in keys[:-1]:
        nxt = target.get(key)
        if not isinstance(nxt, dict):
            nxt = {}
            target[key] = nxt
        target = nxt
    target[keys[-1]] = value


def _explain(exc: ValidationError, source: Path | None, lines: dict[tuple[str, ...], int]) -> str:
    messages = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, KeyProblem):
            loc += tuple(cause.key.split("."))
        dotted = ".".join(loc) or "(top level)"
        line = _nearest_line(loc, lines)
        where = (
            f"{source}:{line}: "
            if source is not None and line
            else (f"{source}: " if source is not None else "")
        )
        messages.append(f"{where}{dotted}: {_describe(error)}")
    return "\n".join(messages)


def _nearest_line(loc: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> int | None:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    given = error.get("input")
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        choices = ", ".join(
            part.strip().strip("'") for part in expected.replace(" or ", ",").split(",")
        )
        return f"must be one of {choices} (got {given!r})"
    if kind == "extra_forbidden":
        return "unknown key (check the spelling against config.example.yaml)"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    if kind in {"missing"}:
        return "is required"
    return (
        f"{message} (got {given!r})"
        if "got" not in message and given is not None and not isinstance(given, dict | list)
        else message
    )
