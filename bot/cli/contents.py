"""``warmline config check`` reads what ``warmline run`` reads at start.

The config model checks keys and that paths exist; the files behind them (FAQ
YAML, Markdown, flow definitions, content items) are parsed by the features
that own them (``Feature.check``), with the very functions the bot uses at
start, so a broken file fails the check too.
"""

from __future__ import annotations

from bot.config.model import WarmlineConfig
from bot.errors import ConfigError
from bot.features import features


def file_problems(config: WarmlineConfig) -> list[str]:
    """One ``key: message`` line per problem in the files the config points at."""
    try:
        chosen = features(config.features)
    except ConfigError as exc:
        return [str(exc)]
    problems: list[str] = []
    for feature in chosen:
        if feature.check is not None:
            problems.extend(feature.check(config))
    return problems
