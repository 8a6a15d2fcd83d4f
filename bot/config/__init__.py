"""Configuration: schema, durations and the loader."""

from bot.config.duration import Duration, parse_duration
from bot.config.loader import load_config, resolve_config_path
from bot.config.model import BotConfig, StorageConfig, TelegramConfig, WarmlineConfig

__all__ = [
    "BotConfig",
    "Duration",
    "StorageConfig",
    "TelegramConfig",
    "WarmlineConfig",
    "load_config",
    "parse_duration",
    "resolve_config_path",
]
