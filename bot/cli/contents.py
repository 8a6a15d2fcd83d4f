"""``warmline config check`` reads what ``warmline run`` reads at start.

The config model checks keys and that paths exist; the files behind them (FAQ
YAML, Markdown, flow definitions, content items) are parsed here with the very
functions the bot uses at start, so a broken file fails the check too.
"""

from __future__ import annotations

from pathlib import Path

from bot.config.model import WarmlineConfig
from bot.errors import ConfigError


def file_problems(config: WarmlineConfig) -> list[str]:
    """One ``key: message`` line per problem in the files the config points at."""
    problems: list[str] = []
    knowledge = config.knowledge
    if knowledge.enabled and knowledge.sources:
        from knowledge.documents import SourceError, discover, load_file

        try:
            for path in discover(knowledge.source_paths()):
                load_file(path)
        except SourceError as exc:
            problems.append(f"knowledge.sources: {exc}")
    if config.flows.enabled:
        from bot.i18n import Catalog
        from flows.content import ContentLibrary
        from flows.definition import PLAYBOOK
        from flows.plugins import prepare_flows
        from flows.steps import StepRegistry

        try:  # flows, their actions, guards and texts, as the engine checks them at start
            prepare_flows(config, Catalog(default=config.bot.default_language), StepRegistry())
        except ConfigError as exc:
            problems.append(f"flows.directories: {exc}")
        try:
            ContentLibrary.load(
                [PLAYBOOK / "content", *(Path(d) for d in config.flows.content.directories)]
            )
        except ConfigError as exc:
            problems.append(f"flows.content.directories: {exc}")
    return problems
