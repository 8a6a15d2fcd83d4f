"""What every ``warmline`` command shares, the core's and each feature's: the
``-c/--config`` option, the error console and loading the config with a clear error.

It lives outside the ``bot.cli`` package, whose import gathers the features'
commands, so a feature's command module can use it without an import circle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.config import WarmlineConfig, load_config
from bot.errors import ConfigError

err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "-c", "--config", help="Config file (default: config.yaml, then config.example.yaml)."
    ),
]


def load_or_exit(path: Path | None) -> WarmlineConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        err.print("[bold red]Invalid configuration[/]")
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def setup_logging(config: WarmlineConfig) -> None:
    from bot.cli import logs

    logs.setup_logging(
        config.logging.level,
        config.logging.libraries,
        "%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
