"""What a screened message gets from the demo KB (issue 18): a complaint the after-sales
entry that fits its problem, or a person alone; another shop a handoff; chat about the bot
the small-talk reply. The screen's own verdicts are in test_knowledge_screening.py."""

from __future__ import annotations

import pytest

from bot.i18n import Catalog
from knowledge.service import KnowledgeBase

CATALOG = Catalog()


@pytest.mark.parametrize(
    ("question", "lang"),
    [("there were moths in the bag when I opened it", "en"), ("拆开发现茶叶里有虫子", "zh")],
)
def test_a_complaint_about_the_goods_shows_the_after_sales_entry_however_far_down(
    example_kb: KnowledgeBase, question: str, lang: str
) -> None:
    answer = example_kb.decide(question, lang)
    assert answer.complaint and answer.handoff
    assert answer.source == "faq.yaml#damaged-wrong-items"


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("the parcel i sent back was signed for a week ago and still no money", "en"),
        ("two identical charges for one order, fix it", "en"),
        ("退的货你们早签收了 钱到现在都没回来", "zh"),
        ("一个订单被扣了两笔钱 赶紧处理", "zh"),
    ],
)
def test_a_money_complaint_is_shown_only_an_entry_about_money(
    example_kb: KnowledgeBase, question: str, lang: str
) -> None:
    answer = example_kb.decide(question, lang)
    assert answer.complaint and answer.handoff and answer.problem == "money"
    assert answer.source in (None, "faq.yaml#refund-timing")


@pytest.mark.parametrize(
    ("question", "lang"),
    [("no one replies to my messages here", "en"), ("这都第四次问了，到底什么时候发货", "zh")],
)
def test_a_complaint_without_a_goods_or_money_problem_gets_a_person_alone(
    example_kb: KnowledgeBase, question: str, lang: str
) -> None:
    answer = example_kb.decide(question, lang)
    assert answer.complaint and answer.handoff and answer.source is None
    assert answer.answer == CATALOG.t(lang, "knowledge.complaint")


@pytest.mark.parametrize(
    ("question", "lang"),
    [("are you cheaper than the tmall shops?", "en"), ("你们家跟八马比怎么样", "zh")],
)
def test_another_shop_is_handed_off(example_kb: KnowledgeBase, question: str, lang: str) -> None:
    answer = example_kb.decide(question, lang)
    assert answer.handoff and answer.source is None and not answer.complaint
    assert answer.answer == CATALOG.t(lang, "knowledge.handoff")


@pytest.mark.parametrize(
    ("question", "lang"), [("are you a robot?", "en"), ("你是真人还是机器人", "zh")]
)
def test_chat_about_the_bot_gets_the_small_talk_reply(
    example_kb: KnowledgeBase, question: str, lang: str
) -> None:
    answer = example_kb.decide(question, lang)
    assert answer.small_talk and not answer.handoff and answer.source is None
    assert answer.answer == CATALOG.t(lang, "knowledge.small_talk")
