"""Configuration: schema, durations and the loader."""

from bot.config.duration import Duration, parse_duration
from bot.config.loader import load_config, resolve_config_path
from bot.config.model import BotConfig, StorageConfig, WarmlineConfig

__all__ = [
    "BotConfig",
    "Duration",
    "StorageConfig",
    "WarmlineConfig",
    "load_config",
    "parse_duration",
    "resolve_config_path",
]
