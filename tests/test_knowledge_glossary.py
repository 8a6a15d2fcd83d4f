"""A shop's glossary (knowledge/glossary.py): members' words for its things are searched as
the KB's words; a broken glossary is reported by file and line and never stops the bot."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from knowledge.answerer import KnowledgeAnswerer
from knowledge.config import KnowledgeConfig
from knowledge.documents import discover
from knowledge.glossary import load_glossaries, parse_glossary, read_glossary
from knowledge.query import QueryNormaliser
from knowledge.retriever import Retriever
from knowledge.service import KnowledgeBase
from knowledge.shorthand import Shorthand


def test_terms_are_read_case_folded() -> None:
    glossary = parse_glossary("TGY: Tieguanyin\nshou puer: ripe pu-erh\n开票: 开发票\n", "g.yaml")
    assert glossary.terms == {"tgy": "Tieguanyin", "shou puer": "ripe pu-erh", "开票": "开发票"}
    assert glossary.problems == []


def test_bad_entries_are_named_by_file_and_line_and_the_rest_is_kept() -> None:
    text = "tgy: Tieguanyin\nvisa: [a, b]\n'': empty\ntgy: again\namex:\ndhp: Da Hong Pao\n"
    glossary = parse_glossary(text, "shop/glossary.yaml")
    assert glossary.terms == {"tgy": "Tieguanyin", "dhp": "Da Hong Pao"}
    assert glossary.problems == [
        "shop/glossary.yaml:2: 'visa' needs the KB's words as non-empty text",
        "shop/glossary.yaml:3: the member's word must be non-empty text",
        "shop/glossary.yaml:4: 'tgy' is listed twice (the first is kept)",
        "shop/glossary.yaml:5: 'amex' needs the KB's words as non-empty text",
    ]


def test_a_file_that_is_not_a_glossary_is_reported_not_raised() -> None:
    broken = parse_glossary("tgy: Tieguanyin\n  dhp: [unclosed\n", "g.yaml")
    assert broken.terms == {}
    assert broken.problems[0].startswith("g.yaml:2: not valid YAML")
    a_list = parse_glossary("# slang\n- tgy\n", "g.yaml")
    assert a_list.problems == ["g.yaml:2: a glossary is a mapping of 'member word: KB words' lines"]
    assert parse_glossary("", "g.yaml").terms == {}


def test_unreadable_glossaries_are_logged_and_the_others_still_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "glossary.yaml").write_bytes(b"tgy: \xff\xfe\n")
    (tmp_path / "b" / "glossary.yml").write_text("dhp: Da Hong Pao\n", encoding="utf-8")
    problem = read_glossary(tmp_path / "a" / "glossary.yaml").problems[0]
    assert problem.endswith("cannot read it ('utf-8' codec can't decode byte 0xff in position 5: "
                            "invalid start byte)")  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="warmline.knowledge"):
        glossary = load_glossaries([tmp_path])
    assert glossary.terms == {"dhp": "Da Hong Pao"}
    assert "a/glossary.yaml: cannot read it" in caplog.text


def test_a_glossary_is_not_indexed_as_an_faq_file(tmp_path: Path) -> None:
    (tmp_path / "faq.yaml").write_text("[]\n", encoding="utf-8")
    (tmp_path / "glossary.yaml").write_text("tgy: Tieguanyin\n", encoding="utf-8")
    assert discover([tmp_path]) == [tmp_path / "faq.yaml"]
    assert discover([tmp_path / "glossary.yaml"]) == []


def test_glossary_terms_are_spelt_out_and_win_over_general_shorthand() -> None:
    spell = Shorthand.for_texts([], glossary={"tgy": "Tieguanyin", "pts": "loyalty points"})
    assert spell("TGY steep time? 300 pts") == "Tieguanyin steep time? 300 loyalty points"
    assert spell("tgyx, stgy") == "tgyx, stgy"  # whole words only


def test_a_chinese_term_already_inside_its_kb_word_is_left_alone() -> None:
    spell = Shorthand.for_texts([], glossary={"熟普": "熟普洱", "单号": "运单号"})
    assert spell("熟普怎么泡") == "熟普洱怎么泡"
    assert spell("熟普洱怎么泡") == "熟普洱怎么泡"
    assert spell("运单号在哪，单号多少") == "运单号在哪，运单号多少"


def test_the_normaliser_uses_the_glossary() -> None:
    clean = QueryNormaliser.from_texts(["Brew ripe pu-erh"], glossary={"shou": "ripe"})
    assert clean("shou puer rinse") == "ripe puer rinse"


#: a shop's glossary as a merchant might write it (examples/camellia/glossary.example.yaml)
SLANG = {"shou": "ripe", "puer": "pu-erh", "puerh": "pu-erh", "dhp": "Da Hong Pao Wuyi rock tea",
         "amex": "card", "大红袍": "大红袍岩茶"}  # fmt: skip


@pytest.fixture(scope="module")
def with_slang(example_kb: KnowledgeBase) -> KnowledgeAnswerer:
    """The demo KB's index answered with :data:`SLANG` (no re-embedding)."""
    config, opinion = example_kb.config, example_kb.config.second_opinion
    retriever = Retriever(
        example_kb.require().retriever.index, example_kb.encoder, config.bm25_weight,
        config.sparse_weight, opinion.weight, opinion.confidence_share, glossary=SLANG,
    )  # fmt: skip
    return KnowledgeAnswerer(retriever, example_kb.phrase, config.min_confidence)


@pytest.mark.parametrize(
    ("question", "expect"),
    [
        ("shou puer how many steeps", "faq.yaml#brew-pu-erh"),
        ("dhp steep time?", "faq.yaml#brew-oolong"),
        ("do u take amex", "faq.yaml#payment-methods"),
        ("大红袍怎么泡", "faq.yaml#brew-oolong"),
    ],
)
def test_a_shops_slang_is_answered_from_the_right_entry(
    example_kb: KnowledgeBase, with_slang: KnowledgeAnswerer, question: str, expect: str
) -> None:
    assert example_kb.decide(question, None).source is None  # not without the glossary
    answer = with_slang.decide(question, None)
    assert (answer.source, answer.handoff) == (expect, False)
    assert answer.question == question  # the member still sees their own words


def test_the_off_topic_check_reads_the_spelt_out_words(with_slang: KnowledgeAnswerer) -> None:
    # "puerh?" alone shares no word with the KB as typed; spelt out it is pu-erh
    answer = with_slang.decide("puerh?", "en")
    assert (answer.source, answer.handoff) == ("faq.yaml#brew-pu-erh", False)


def test_the_knowledge_base_reads_the_glossary_of_its_sources(
    tmp_path: Path, example_kb: KnowledgeBase
) -> None:
    (tmp_path / "glossary.yaml").write_text("dhp: Da Hong Pao\n", encoding="utf-8")
    config = KnowledgeConfig(sources=[str(tmp_path)], index_dir=str(tmp_path / "index"))
    kb = KnowledgeBase(config, example_kb.phrase, embeddings=example_kb.embeddings,
                       second=example_kb.second)  # fmt: skip
    index = example_kb.index
    assert index is not None
    shorthand = kb.answerer_for(index).retriever.normalise.shorthand
    assert shorthand is not None and shorthand("dhp?") == "Da Hong Pao?"
