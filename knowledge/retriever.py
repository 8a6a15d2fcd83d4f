"""Hybrid retrieval (dense + latent terms + BM25), score fusion, and a calibrated confidence.

Every signal is scored per *source* (the best of its chunks; an FAQ entry is
searched in both languages, since it answers in both), then z-normalised
over the candidate sources of this query, so a weight means the same thing
whatever the raw scale of BM25 or of the model. Confidence is how far the
best match's dense similarity rises above what a *related but wrong*
question reaches in this KB (see :func:`knowledge.index.calibrate`), plus
how far the winner stands out from the other candidates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from knowledge.documents import Chunk
from knowledge.embeddings import QueryEncoder, QueryVectors
from knowledge.index import FALLBACK_CALIBRATION, Calibration, KnowledgeIndex
from knowledge.query import QueryNormaliser
from knowledge.text import tokenize
from knowledge.vectors import row_dots

Mode = Literal["hybrid", "dense", "sparse", "bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "sparse", "bm25")

#: how much the winner's fused z-score (its lead over the field) adds to the confidence
STANDOUT_WEIGHT = 0.25
#: shifts the confidence scale; chosen once so that min_confidence 0.6 abstains
#: on ~90% of off-topic questions (two-fold check in the README)
CONFIDENCE_SHIFT = 0.1
#: BM25 confidence in bm25-only mode: 1 - exp(-score / BM25_HALF)
BM25_HALF = 5.0


@dataclass(frozen=True, slots=True)
class Candidate:
    chunk: Chunk
    dense: float
    lexical: float
    fused: float

    @property
    def source(self) -> str:
        return self.chunk.source


@dataclass(frozen=True, slots=True)
class Ranking:
    candidates: list[Candidate]
    confidence: float
    lang: str


@dataclass(frozen=True, slots=True)
class _Pool:
    """Chunks a question in one language may be answered from, grouped by source."""

    #: chunk rows, sorted so that each source's rows are contiguous
    rows: np.ndarray
    #: start of each source's run in ``rows`` (for ``np.maximum.reduceat``)
    starts: np.ndarray
    #: those rows' vectors, copied once so a question does not gather them again
    vectors: np.ndarray
    #: position in ``rows`` of each chunk row (-1: not in this pool)
    position: np.ndarray


class Retriever:
    def __init__(
        self,
        index: KnowledgeIndex,
        encoder: QueryEncoder,
        bm25_weight: float = 0.2,
        sparse_weight: float = 0.3,
    ) -> None:
        self.index = index
        self.encoder = encoder
        self.bm25_weight = bm25_weight
        self.sparse_weight = sparse_weight if index.sparse is not None else 0.0
        self.normalise = QueryNormaliser.from_texts(
            (chunk.text for chunk in index.chunks), encoder.pieces
        )
        self._pools = {lang: self._pool(lang) for lang in index.languages}

    def _pool(self, lang: str) -> _Pool:
        """Chunks in ``lang``, plus FAQ entries written in another language that answer in it."""
        chunks = self.index.chunks
        eligible = [i for i, c in enumerate(chunks) if c.lang == lang or lang in c.answers]
        rows = np.array(sorted(eligible, key=lambda i: (chunks[i].source, i)), dtype=np.int64)
        sources = [chunks[i].source for i in rows]
        starts = np.array(
            [k for k in range(len(sources)) if k == 0 or sources[k] != sources[k - 1]],
            dtype=np.int64,
        )
        position = np.full(len(chunks), -1, dtype=np.int64)
        position[rows] = np.arange(rows.size)
        vectors = np.ascontiguousarray(self.index.vectors[rows], dtype=np.float32)
        return _Pool(rows, starts, vectors, position)

    def search(self, question: str, lang: str, mode: Mode = "hybrid", limit: int = 5) -> Ranking:
        """Best sources for ``question``, searched among chunks in ``lang`` when the KB has any."""
        searched = lang if lang in self._pools else next(iter(sorted(self._pools)), lang)
        pool = self._pools.get(searched)
        if pool is None or not pool.rows.size:
            return Ranking([], 0.0, lang)
        weights = {
            "hybrid": (1.0, self.sparse_weight, self.bm25_weight),
            "dense": (1.0, 0.0, 0.0),
            "sparse": (0.0, 1.0, 0.0),
            "bm25": (0.0, 0.0, 1.0),
        }[mode]
        text = self.normalise(question)
        wants_terms = bool(weights[1]) and self.index.sparse is not None
        query = self.encoder.encode(text, with_terms=wants_terms)
        dense, dense_rows = self._per_source(pool, row_dots(pool.vectors, query.dense))
        lexical, lexical_rows = self._per_source(pool, self._lexical_scores(text, searched, pool))
        fused = weights[0] * _z(dense) + weights[2] * _z(lexical)
        if weights[1]:
            sparse, _ = self._per_source(pool, self._sparse_scores(query, pool))
            fused += weights[1] * _z(sparse)
        order = _best(fused, limit)
        best_rows = lexical_rows if mode == "bm25" else dense_rows
        ranked = [
            Candidate(
                self.index.chunks[int(best_rows[k])],
                float(dense[k]),
                float(lexical[k]),
                float(fused[k]),
            )
            for k in order
        ]
        return Ranking(ranked, self._confidence(ranked, searched, mode), searched)

    def _per_source(self, pool: _Pool, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each source's best chunk score, and which chunk row reached it."""
        best = np.maximum.reduceat(scores, pool.starts)
        sizes = np.diff(np.append(pool.starts, scores.size))
        reached = scores >= np.repeat(best, sizes)
        first = np.maximum.reduceat(
            np.where(reached, -np.arange(scores.size), -scores.size), pool.starts
        )
        return best, pool.rows[-first]

    def _sparse_scores(self, query: QueryVectors, pool: _Pool) -> np.ndarray:
        if self.index.sparse is None or query.terms is None:
            return np.zeros(pool.rows.size, dtype=np.float32)
        return self.index.sparse.scores(query.terms, pool.rows)

    def _lexical_scores(self, question: str, lang: str, pool: _Pool) -> np.ndarray:
        """BM25 in the question's language; chunks in other languages score 0."""
        scores = np.zeros(pool.rows.size, dtype=np.float32)
        terms = tokenize(question)
        if not terms or lang not in self.index.bm25:
            return scores
        retriever, rows = self.index.bm25[lang]
        where = pool.position[rows]
        inside = where >= 0
        scores[where[inside]] = np.asarray(retriever.get_scores(terms), dtype=np.float32)[inside]
        return scores

    def _confidence(self, ranked: list[Candidate], lang: str, mode: Mode) -> float:
        if not ranked:
            return 0.0
        top = ranked[0]
        if mode == "bm25":
            return 1.0 - math.exp(-top.lexical / BM25_HALF)
        reference = self.index.calibration.get(lang) or Calibration(**FALLBACK_CALIBRATION)
        score = (top.dense - reference.mean) / reference.spread
        return _sigmoid(score + STANDOUT_WEIGHT * top.fused - CONFIDENCE_SHIFT)

    def candidate_confidence(self, candidate: Candidate, lang: str) -> float:
        """Calibrated similarity of one candidate alone (for the admin's shortlist)."""
        reference = self.index.calibration.get(lang) or Calibration(**FALLBACK_CALIBRATION)
        return _sigmoid((candidate.dense - reference.mean) / reference.spread)


def _best(scores: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the ``limit`` highest scores, highest first (ties: lower index first)."""
    if scores.size > limit:
        top = np.argpartition(-scores, limit - 1)[:limit]
        top.sort()
    else:
        top = np.arange(scores.size)
    order: np.ndarray = top[np.argsort(-scores[top], kind="stable")]
    return order


def _z(scores: np.ndarray) -> np.ndarray:
    """Per-query z-score, so signals on different scales can be added."""
    spread = float(scores.std())
    if scores.size < 2 or spread == 0:
        return np.zeros_like(scores)
    result: np.ndarray = (scores - scores.mean()) / spread
    return result


def _sigmoid(score: float) -> float:
    return 1.0 / (1.0 + math.exp(-score))
