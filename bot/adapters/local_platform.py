"""The local platform: the terminal and in-process adapter that needs no token (the
embedded default), registered like any other platform. Its section ``bot.local`` (the
bot's name and the demo group's) and ``warmline chat``; the simulation and the chat run
on it whatever ``bot.platform`` says, so they read the section through
:func:`local_config`. Cheap to import: the registry imports it whenever a config is
loaded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config.section import Section
from bot.platforms import Platform

if TYPE_CHECKING:
    import typer

    from bot.config.model import WarmlineConfig


class LocalConfig(Section):
    bot_username: str = "warmline_bot"
    demo_group: str = "Camellia Tea Club"


def local_config(config: WarmlineConfig) -> LocalConfig:
    """``bot.local`` of ``config`` (its defaults when the file has none)."""
    return config.bot.platform_section("local", LocalConfig) or LocalConfig()


def commands(cli: typer.Typer) -> None:
    """``warmline chat``."""
    from bot.adapters.local_chat import chat

    cli.command()(chat)


PLATFORM = Platform("local", "bot.adapters.local:build", config=LocalConfig, commands=commands)
