"""Wire the knowledge base into an App: services, the index on start (with what admins
taught), the handoff and lesson stores."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config.model import WarmlineConfig
from bot.errors import ConfigError
from bot.features import Feature
from bot.start_notes import StartNotes
from flows.tags import TagStore
from knowledge.cli import register
from knowledge.config import KnowledgeConfig, knowledge_config
from knowledge.contract import Answerer
from storage.kb_learning import LearnedStore, SqlLearnedStore
from storage.knowledge_store import KnowledgeStore, SqlKnowledgeStore

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("warmline.knowledge")


def install_knowledge(app: App) -> None:
    from knowledge.handlers import learning, qa  # the models: not for `warmline -h`

    config = knowledge_config(app.config)
    app.include(qa.router, learning.router, order=40)
    app.services.provide(SqlKnowledgeStore(app.database), KnowledgeStore)
    learned_store = SqlLearnedStore(app.database)
    app.services.provide(learned_store, LearnedStore)
    # a complaint tags the member needs-care
    if app.services.find(TagStore) is None:
        app.services.provide(TagStore(app.database, app.services.signals))
    if not config.enabled or not config.sources:
        return
    from knowledge.chunks import SourceError
    from knowledge.learning import Learned
    from knowledge.provided import EmbeddingsUnavailable
    from knowledge.service import KnowledgeBase  # the models: not for `warmline -h`

    first_start = not config.index_path().exists()
    try:
        kb = KnowledgeBase(config, app.services.catalog.t, app.config.bot.default_language)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    app.services.provide(kb)
    app.services.provide(kb, Answerer)
    if first_start:
        notes = app.services.find(StartNotes) or app.services.provide(StartNotes())
        notes.lines.append(
            f"first start: indexing the knowledge base into {config.index_path()} "
            "(about a minute; later starts reuse it)…"
        )

    async def load(_: App) -> None:
        learned = Learned.of(await learned_store.learned())  # what admins taught
        try:
            await asyncio.to_thread(kb.build, None, learned)
        except (SourceError, ValueError) as exc:
            raise ConfigError(f"knowledge.sources: {exc}") from None
        except EmbeddingsUnavailable as exc:  # the index needs embedding: its model must answer
            raise ConfigError(str(exc)) from None

    app.on_startup(load)


def file_problems(config: WarmlineConfig) -> list[str]:
    """Each knowledge source parses, as the index reads it at start."""
    knowledge = knowledge_config(config)
    if not knowledge.enabled or not knowledge.sources:
        return []
    from knowledge.chunks import SourceError
    from knowledge.documents import discover, load_file

    try:
        for path in discover(knowledge.source_paths()):
            load_file(path)
    except SourceError as exc:
        return [f"knowledge.sources: {exc}"]
    return []


FEATURE = Feature(
    "knowledge",
    install_knowledge,
    order=40,
    commands=register,
    check=file_problems,
    config=KnowledgeConfig,
    migrations=Path(__file__).with_name("migrations"),
)
