"""Chat shorthand is spelt out before retrieval ("do u take visa", "only have 300 pts"),
from general English chat and from what a KB defines in brackets ("Tieguanyin (TGY)")."""

from __future__ import annotations

import pytest

from knowledge.query import QueryNormaliser
from knowledge.service import KnowledgeBase
from knowledge.shorthand import Shorthand, defined_in


def test_general_chat_shorthand_is_spelt_out_as_whole_words_only() -> None:
    spell = Shorthand.for_texts([])
    assert spell("do u take visa / mastercard") == "do you take visa / mastercard"
    assert spell("only have 300 pts") == "only have 300 points"
    assert spell("can i pay w/ unionpay, w/o a card? b4 friday pls") == (
        "can i pay with unionpay, without a card? before friday please"
    )
    assert spell("积分pts够吗") == "积分points够吗"  # Chinese around it is no word boundary
    # inside words, other words and abbreviations with dots: left alone
    assert spell("menu, US, U.S., rust, you're") == "menu, US, U.S., rust, you're"


def test_a_kb_defines_its_own_short_forms_in_brackets() -> None:
    texts = [
        "How do I brew Tieguanyin (TGY)?",
        "Can I get an invoice (fapiao)?",  # a translation, not a short form
        "Steeping times: Green (glass)",  # a note, not a short form
    ]
    assert defined_in(texts) == {"tgy": "Tieguanyin"}
    assert Shorthand.for_texts(texts)("tgy steep time?") == "Tieguanyin steep time?"


def test_a_general_short_form_the_kb_writes_as_a_word_keeps_the_kb_meaning() -> None:
    texts = ["Our PTS (Priority Tea Service) members get a call back"]
    clean = QueryNormaliser.from_texts(texts)
    assert clean("how do i join pts") == "how do i join pts"
    assert clean("do u call back") == "do you call back"


@pytest.mark.parametrize(
    ("question", "expect"),
    [
        ("only have 300 pts, can i use them", "faq.yaml#points-redeeming"),
        ("do purchases earn pts", "faq.yaml#points-earning"),
    ],
)
def test_shorthand_questions_are_answered_from_the_right_entry(
    example_kb: KnowledgeBase, question: str, expect: str
) -> None:
    assert example_kb.decide(question, "en").source == expect


def test_the_member_still_sees_their_own_words(example_kb: KnowledgeBase) -> None:
    answer = example_kb.decide("do purchases earn pts", "en")
    assert answer.question == "do purchases earn pts"


def test_chinese_shopping_slang_is_spelt_out_unless_the_kb_writes_it() -> None:
    spell = Shorthand.for_texts(["邀请朋友注册有奖励吗？"])
    assert spell("拉新能拿什么奖励") == "邀请新朋友能拿什么奖励"
    assert spell("老带新送积分吗") == "邀请朋友送积分吗"
    # a KB that writes the slang itself means what it means by it
    assert Shorthand.for_texts(["拉新活动：每月最多10位"])("拉新有奖励吗") == "拉新有奖励吗"


def test_a_referral_in_slang_finds_the_referral_entry(example_kb: KnowledgeBase) -> None:
    answer = example_kb.decide("拉新能拿什么奖励", "zh")
    assert (answer.source, answer.handoff) == ("faq.yaml#referral-reward", False)
