"""Platform adapters. Only modules in this package import platform libraries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.adapters.registry import factory

if TYPE_CHECKING:
    from bot.adapter import Adapter
    from bot.config.model import WarmlineConfig
    from bot.web import WebServer


def build_adapter(config: WarmlineConfig, web: WebServer | None = None) -> Adapter:
    """The adapter ``bot.platform`` names (see :mod:`bot.adapters.registry`)."""
    return factory(config.bot.platform)(config, web)
