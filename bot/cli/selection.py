"""Which features' sub-commands ``warmline`` offers: those the config loads.

The command line is built before any command runs, so the config file is looked at
first, from the same ``-c/--config`` a command takes (else ``config.yaml``, else
``config.example.yaml``, as the commands find it). Only its ``features:`` key is read:
whatever else is wrong with the file is for the command itself to report. With no config
file, no ``features:`` key, or a file that cannot be read, every installed feature's
commands are offered, so ``warmline -h`` always works.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from bot.config import resolve_config_path
from bot.config.safe_yaml import safe_load
from bot.errors import ConfigError


def config_argument(argv: Sequence[str]) -> str | None:
    """The value of ``-c``/``--config`` in ``argv`` (the last one given), if any."""
    found = None
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg in ("-c", "--config"):
            if index + 1 < len(argv):
                found = argv[index + 1]
        elif arg.startswith("--config="):
            found = arg.partition("=")[2]
        elif arg.startswith("-c") and not arg.startswith("--") and len(arg) > 2:
            found = arg[2:]
    return found


def chosen_features(argv: Sequence[str]) -> list[str] | None:
    """The config's ``features:`` for the command in ``argv``; None offers them all."""
    try:
        source = resolve_config_path(config_argument(argv))
        if source is None:
            return None
        data = safe_load(source.read_text(encoding="utf-8"))
    except (ConfigError, OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    chosen = data.get("features") if isinstance(data, dict) else None
    if not isinstance(chosen, list) or not all(isinstance(name, str) for name in chosen):
        return None
    return chosen
