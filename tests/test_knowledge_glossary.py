"""A shop's glossary (knowledge/glossary.py): members' words for its things are searched as
the KB's words; a broken glossary is reported by file and line and never stops the bot."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from knowledge.documents import discover
from knowledge.glossary import load_glossaries, parse_glossary, read_glossary
from knowledge.query import QueryNormaliser
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


@pytest.mark.parametrize(
    ("question", "expect"),
    [
        ("shou puer how many steeps", "faq.yaml#brew-pu-erh"),
        ("dhp steep time?", "faq.yaml#brew-oolong"),
        ("do u take amex", "faq.yaml#payment-methods"),
        ("大红袍怎么泡", "faq.yaml#brew-oolong"),
    ],
)
def test_the_demo_shops_slang_is_answered_from_the_right_entry(
    example_kb: KnowledgeBase, question: str, expect: str
) -> None:
    answer = example_kb.decide(question, None)
    assert (answer.source, answer.handoff) == (expect, False)
    assert answer.question == question  # the member still sees their own words


def test_the_off_topic_check_reads_the_spelt_out_words(example_kb: KnowledgeBase) -> None:
    # "puerh?" alone shares no word with the KB as typed; spelt out it is pu-erh
    answer = example_kb.decide("puerh?", "en")
    assert (answer.source, answer.handoff) == ("faq.yaml#brew-pu-erh", False)
