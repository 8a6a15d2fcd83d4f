"""The on-disk index: chunks, their vectors, BM25 per language, calibration.

Building is incremental: a file whose content hash is unchanged keeps its
chunks and vectors, and any chunk text embedded before (by the same model)
is reused, so only new or edited text is sent to the embedding model.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
from langchain_core.embeddings import Embeddings

from knowledge.chunks import Chunk
from knowledge.documents import discover, file_digest, learned_chunks, load_file
from knowledge.embeddings import (
    SparseTerms,
    embed_passages,
    embed_query,
    embedding_name,
    has_sparse,
    passages_and_terms,
)
from knowledge.ingest import Pass, run_passes
from knowledge.learning import Learned
from knowledge.sparse_matrix import SparseMatrix
from knowledge.text import tokenize

log = logging.getLogger("warmline.knowledge")

#: bump when chunking or stored fields change: an older index is then rebuilt
FORMAT_VERSION = 5
MANIFEST = "manifest.json"
#: how ``BuildReport.changed_files`` names a change in what admins taught
LEARNED_CHANGE = "(taught questions)"
VECTORS = "vectors.npy"
SPARSE = "sparse.npz"
SECOND = "second.npy"
#: the question/heading counts this many times in BM25 (the answer once)
TITLE_REPEAT = 2
#: how many headings/questions per language calibrate the confidence
CALIBRATION_SAMPLE = 120
#: when a language has too few entries to calibrate, use these (e5-small, measured)
FALLBACK_CALIBRATION = {"mean": 0.86, "spread": 0.02}

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Calibration:
    """Similarity a question reaches with the *nearest wrong* entry, per language."""

    mean: float
    spread: float


@dataclass(frozen=True, slots=True)
class SecondOpinionVectors:
    """The second model's chunk vectors, with a confidence reference of its own."""

    embedder: str
    vectors: np.ndarray
    calibration: dict[str, Calibration]


@dataclass(slots=True)
class BuildReport:
    files: int = 0
    changed_files: list[str] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class KnowledgeIndex:
    chunks: list[Chunk]
    vectors: np.ndarray
    embedder: str
    files: dict[str, str]
    calibration: dict[str, Calibration]
    bm25: dict[str, tuple[bm25s.BM25, np.ndarray]] = field(default_factory=dict)
    #: latent-term vectors per chunk (padded ``(n, k)`` ids and weights), when the model has them
    sparse: SparseMatrix | None = None
    #: the second model's vectors, when one is configured (knowledge.second_opinion)
    second: SecondOpinionVectors | None = None
    #: :meth:`Learned.digest` of the lessons merged in ('' for none)
    learned: str = ""

    @property
    def languages(self) -> set[str]:
        return {chunk.lang for chunk in self.chunks}

    def rows_in(self, lang: str) -> np.ndarray:
        """Chunks in ``lang`` that may answer (``not_for`` examples never do)."""
        return np.array(
            [i for i, c in enumerate(self.chunks) if c.lang == lang and c.retrievable],
            dtype=np.int64,
        )


def build_index(
    sources: list[Path],
    directory: Path,
    embeddings: Embeddings,
    progress: Progress | None = None,
    latent_terms: bool = True,
    second: Embeddings | None = None,
    learned: Learned | None = None,
) -> tuple[KnowledgeIndex, BuildReport]:
    """Refresh ``directory`` from ``sources`` and what admins taught (``learned``, see
    :mod:`knowledge.learning`); only new or edited text is embedded.

    ``latent_terms`` also stores each chunk's sparse terms when the model has
    them (about as slow again as embedding, once per text); ``second`` also
    embeds every chunk with a second model (:mod:`knowledge.second_opinion`).
    """
    started = time.perf_counter()
    report = BuildReport()
    files = discover(sources)
    report.files = len(files)
    previous = _read_previous(directory, embedding_name(embeddings))
    known_vectors: dict[str, np.ndarray] = {}
    known_sparse: dict[str, SparseTerms] = {}
    known_second: dict[str, np.ndarray] = {}
    if previous is not None and previous.second is not None and second is not None:
        if previous.second.embedder == embedding_name(second):
            known_second = {
                c.text: previous.second.vectors[i] for i, c in enumerate(previous.chunks)
            }
    if previous is not None:
        known_vectors = {c.text: previous.vectors[i] for i, c in enumerate(previous.chunks)}
        if previous.sparse is not None:
            known_sparse = {c.text: previous.sparse.row(i) for i, c in enumerate(previous.chunks)}
    digests = {str(path.resolve()): file_digest(path) for path in files}
    wants_terms = latent_terms and has_sparse(embeddings)
    # Chunking is cheap and always redone, so a change in how files are cut up
    # (not only in the files) refreshes the index; embedding is what is saved.
    chunks: list[Chunk] = []
    for path in files:
        key = str(path.resolve())
        if previous is None or previous.files.get(key) != digests[key]:
            report.changed_files.append(path.name)
        chunks.extend(load_file(path, learned))
    learned = learned or Learned()
    chunks.extend(learned_chunks(learned, {c.source for c in chunks}))
    if previous is not None and previous.learned != learned.digest():
        report.changed_files.append(LEARNED_CHANGE)
    report.chunks = len(chunks)
    if (
        previous is not None
        and previous.files == digests
        and previous.chunks == chunks
        and previous.learned == learned.digest()
        and (previous.sparse is not None or not wants_terms)
        and (second is None or all(c.text in known_second for c in chunks))
    ):
        report.reused = report.chunks
        report.seconds = time.perf_counter() - started
        return previous, report
    missing = list(dict.fromkeys(c.text for c in chunks if c.text not in known_vectors))
    report.embedded = len(missing)
    fresh = set(missing)
    report.reused = sum(1 for c in chunks if c.text not in fresh)
    texts = list(dict.fromkeys(c.text for c in chunks))
    both: dict[str, tuple[np.ndarray, SparseTerms]] = {}
    if wants_terms:
        # one model pass gives both: a text lacking either gets both
        unknown = [t for t in texts if t not in known_sparse or t not in known_vectors]
        passes = [Pass("embedding", unknown, partial(_vectors_and_terms, embeddings), both, 0)]
    else:
        passes = [Pass("embedding", missing, partial(embed_passages, embeddings), known_vectors, 0)]
    if second is not None:
        unseen = [t for t in texts if t not in known_second]
        passes.append(Pass("second opinion", unseen, partial(embed_passages, second), known_second))
    run_passes(passes, progress)  # side by side, e5 on every core
    for text, (vector, terms) in both.items():
        known_vectors[text], known_sparse[text] = vector, terms
    dim = next(iter(known_vectors.values())).shape[0] if known_vectors else 384
    vectors = (
        np.stack([known_vectors[c.text] for c in chunks]).astype(np.float32)
        if chunks
        else np.zeros((0, dim), dtype=np.float32)
    )
    index = KnowledgeIndex(
        chunks=chunks,
        vectors=vectors,
        embedder=embedding_name(embeddings),
        files=digests,
        calibration={},
        learned=learned.digest(),
    )
    if wants_terms and chunks:
        index.sparse = SparseMatrix.stack([known_sparse[c.text] for c in chunks])
    if progress is not None:
        progress("calibrating", 0, 1)
    index.calibration = calibrate(index, embeddings)
    if second is not None and chunks:
        index.second = second_opinion(index, second, known_second, progress)
    index.bm25 = build_bm25(index)
    save_index(index, directory)
    report.seconds = time.perf_counter() - started
    return index, report


def _vectors_and_terms(
    embeddings: Embeddings, texts: list[str]
) -> list[tuple[np.ndarray, SparseTerms]]:
    vectors, terms = passages_and_terms(embeddings, texts)
    return list(zip(vectors, terms, strict=True))


def second_opinion(
    index: KnowledgeIndex,
    second: Embeddings,
    known: dict[str, np.ndarray],
    progress: Progress | None = None,
) -> SecondOpinionVectors:
    """The second model's vectors for ``index`` (texts in ``known`` are not embedded
    again), calibrated like the main model's."""
    unseen = [text for text in dict.fromkeys(c.text for c in index.chunks) if text not in known]
    run_passes([Pass("second opinion", unseen, partial(embed_passages, second), known)], progress)
    vectors = np.stack([known[c.text] for c in index.chunks]).astype(np.float32)
    # no fallback: a language too small to calibrate is left to the main model
    calibration = _calibrate(index, vectors, partial(embed_query, second), None)
    return SecondOpinionVectors(embedding_name(second), vectors, calibration)


def calibrate(index: KnowledgeIndex, embeddings: Embeddings) -> dict[str, Calibration]:
    """Label-free confidence reference taken from the KB itself.

    Each FAQ question / heading is asked as a query; the best similarity it
    reaches with a chunk of a *different* source tells how high a related
    but wrong match scores in that language. Confidence is measured above it.
    """
    fallback = Calibration(**FALLBACK_CALIBRATION)
    return _calibrate(index, index.vectors, partial(embed_query, embeddings), fallback)


def _calibrate(
    index: KnowledgeIndex,
    vectors: np.ndarray,
    embed: Callable[[str], np.ndarray],
    fallback: Calibration | None,
) -> dict[str, Calibration]:
    """Per language; one with too few entries gets ``fallback`` (or is left out)."""
    result: dict[str, Calibration] = {}
    for lang in sorted(index.languages):
        rows = index.rows_in(lang)
        sources = np.array([index.chunks[i].source for i in rows])
        probes: dict[str, str] = {}
        for i in rows:
            chunk = index.chunks[i]
            if chunk.title and chunk.source not in probes and chunk.title != chunk.source:
                probes[chunk.source] = chunk.title
        picked = list(probes.items())
        if len(picked) > CALIBRATION_SAMPLE:
            step = len(picked) / CALIBRATION_SAMPLE
            picked = [picked[int(k * step)] for k in range(CALIBRATION_SAMPLE)]
        nearest_wrong: list[float] = []
        matrix = vectors[rows]
        for source, title in picked:
            others = sources != source
            if not others.any():
                continue
            sims = matrix[others] @ embed(title)
            nearest_wrong.append(float(sims.max()))
        if len(nearest_wrong) >= 5:
            result[lang] = Calibration(
                float(np.mean(nearest_wrong)), max(float(np.std(nearest_wrong)), 0.01)
            )
        elif fallback is not None:
            result[lang] = fallback
    return result


def build_bm25(index: KnowledgeIndex) -> dict[str, tuple[bm25s.BM25, np.ndarray]]:
    """One BM25 index per language, so Chinese and English terms never compete."""
    built: dict[str, tuple[bm25s.BM25, np.ndarray]] = {}
    for lang in sorted(index.languages):
        rows = index.rows_in(lang)
        corpus = [tokenize(_weighted_fields(index.chunks[i])) or ["_"] for i in rows]
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
        built[lang] = (retriever, rows)
    return built


def _weighted_fields(chunk: Chunk) -> str:
    """The question (or heading) says what an entry is about; let it count more than the answer."""
    title = chunk.title if chunk.title and chunk.title != chunk.source else ""
    return "\n".join([title] * TITLE_REPEAT + [chunk.text])


def save_index(index: KnowledgeIndex, directory: Path) -> None:
    """Write to a temporary folder first, then swap, so a crash never leaves half an index."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".kb-", dir=directory.parent))
    try:
        np.save(staging / VECTORS, index.vectors)
        if index.sparse is not None:
            np.savez(staging / SPARSE, ids=index.sparse.ids, weights=index.sparse.weights)
        manifest: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "embedder": index.embedder,
            "files": index.files,
            "calibration": _calibration_json(index.calibration),
            "learned": index.learned,
            "chunks": [chunk.to_json() for chunk in index.chunks],
        }
        if index.second is not None:
            np.save(staging / SECOND, index.second.vectors)
            manifest["second_opinion"] = {
                "embedder": index.second.embedder,
                "calibration": _calibration_json(index.second.calibration),
            }
        (staging / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        for lang, (retriever, _rows) in index.bm25.items():
            retriever.save(str(staging / f"bm25_{lang}"))
        old = directory.with_name(directory.name + ".old")
        if directory.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(directory, old)
        os.replace(staging, directory)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_index(directory: Path) -> KnowledgeIndex:
    """Read an index written by :func:`save_index`; raise ``FileNotFoundError`` if absent."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{directory}: no knowledge index (run `warmline kb ingest`)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("version") != FORMAT_VERSION:
        raise FileNotFoundError(f"{directory}: index format changed; it will be rebuilt")
    index = KnowledgeIndex(
        chunks=[Chunk.from_json(item) for item in manifest["chunks"]],
        vectors=np.load(directory / VECTORS),
        embedder=str(manifest["embedder"]),
        files={str(k): str(v) for k, v in manifest["files"].items()},
        calibration=_calibration_from(manifest["calibration"]),
        learned=str(manifest.get("learned") or ""),
    )
    second = manifest.get("second_opinion")
    if second is not None and (directory / SECOND).is_file():
        index.second = SecondOpinionVectors(
            str(second["embedder"]),
            np.load(directory / SECOND),
            _calibration_from(second["calibration"]),
        )
    if (directory / SPARSE).is_file():
        with np.load(directory / SPARSE) as stored_sparse:
            index.sparse = SparseMatrix(stored_sparse["ids"], stored_sparse["weights"])
    for lang in sorted(index.languages):
        stored = directory / f"bm25_{lang}"
        if stored.is_dir():
            index.bm25[lang] = (bm25s.BM25.load(str(stored)), index.rows_in(lang))
    if set(index.bm25) != index.languages:
        index.bm25 = build_bm25(index)
    return index


def _calibration_json(calibration: dict[str, Calibration]) -> dict[str, dict[str, float]]:
    return {lang: {"mean": c.mean, "spread": c.spread} for lang, c in calibration.items()}


def _calibration_from(stored: dict[str, Any]) -> dict[str, Calibration]:
    return {lang: Calibration(float(c["mean"]), float(c["spread"])) for lang, c in stored.items()}


def _read_previous(directory: Path, embedder: str) -> KnowledgeIndex | None:
    try:
        previous = load_index(directory)
    except (FileNotFoundError, ValueError, KeyError, json.JSONDecodeError) as exc:
        log.debug("no reusable index at %s: %s", directory, exc)
        return None
    return previous if previous.embedder == embedder else None
