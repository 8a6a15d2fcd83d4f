"""Platform adapters. Only modules in this package import platform libraries."""

from __future__ import annotations

from bot.adapter import Adapter
from bot.config.model import WarmlineConfig
from bot.extras import require
from bot.web import WebServer


def build_adapter(config: WarmlineConfig, web: WebServer | None = None) -> Adapter:
    """The adapter ``bot.platform`` (and ``bot.telegram.library``) select."""
    if config.bot.platform == "local":
        from bot.adapters.local import LocalAdapter

        return LocalAdapter(config.bot.local.bot_username, admins=config.bot.admins)
    if config.bot.telegram.library == "aiogram":
        require("aiogram", "Telegram through aiogram")
        from bot.adapters.aiogram_adapter import AiogramAdapter

        return AiogramAdapter(config.bot.telegram, web)
    require("telegram", "Telegram through python-telegram-bot")
    from bot.adapters.ptb_adapter import PtbAdapter

    return PtbAdapter(config.bot.telegram, web)
