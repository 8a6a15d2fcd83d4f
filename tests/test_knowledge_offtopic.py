"""Asks about other things (issue 18): the off-topic wordings, on questions of our own (none
from a question set); a wording the KB uses itself is not off-topic; and a look-alike of an
entry is handed off unless its match is strong."""

from __future__ import annotations

import time

import pytest

from knowledge.answerer import OFF_TOPIC_CONFIDENCE
from knowledge.offtopic import OffTopic
from knowledge.service import KnowledgeBase
from knowledge.text import tokenize

PLAIN = OffTopic(["Our teas ship from Hangzhou."])


@pytest.mark.parametrize(
    "question",
    [
        "could you draft a short story about a dragon for my son",
        "what's 12 times 9",
        "is it snowing in beijing right now",
        "which airline flies direct to chengdu",
        "who sang that song in the tea advert",
        "can I buy a pair of shoes here",
        "how do you make fried rice",
        "my puppy chewed the charger",
        "how do I return something to Amazon",
        "how is jasmine tea made",
        "帮我翻译这句话",
        "周末想去看电影",
        "明天会不会下雪",
        "你们有卖啤酒的吗",
        "番茄炒鸡蛋怎么做",
        "拼多多的订单怎么退",
        "茶树一般种在哪里",
        "is there a bus from the airport to the west lake",
        "which train gets to suzhou fastest",
        "明天的动车票还有吗",
        "I can't remember my email password",
        "微信密码忘了怎么找回",
        "where's my JD order, it was due monday",
        "when will the keemun be back in stock",
        "金骏眉什么时候补货",
        "do you have a physical store in shanghai",
        "你们有实体店吗 想去看看",
        "how is white tea really made",
    ],
)
def test_asks_about_other_things_are_off_topic(question: str) -> None:
    assert PLAIN(question)


@pytest.mark.parametrize(
    "question",
    [
        "how long does shipping to chengdu take",
        "can i return an unopened tin",
        "is green tea lower in caffeine than coffee?",
        "what water temperature for white tea",
        "how many points do i get per yuan",
        "can I pay with my phone",
        "do you sell pu-erh cakes",
        "where is the trace code on the tin",
        "手机号换了怎么改",
        "哪种茶咖啡因少",
        "积分是乘以会员倍率吗",
        "我的历史订单在哪看",
        "普洱茶饼怎么撬开",
        "能发京东快递吗",
        "100积分等于多少钱",
        "电脑上能下单吗",
        "can I buy 2x 50g tins",
        "my dog knocked the tin over, can I still return it if it's sealed",
        "猫把罐子打翻了，没拆封还能退吗",
    ],
)
def test_the_shops_own_asks_are_not(question: str) -> None:
    assert not PLAIN(question)


def test_a_wording_the_kb_uses_itself_is_not_off_topic() -> None:
    coffee_shop = OffTopic(["We roast our coffee beans every Monday.", "咖啡豆每周一烘焙。"])
    assert PLAIN("do you sell coffee beans") and PLAIN("你们卖咖啡豆吗")
    assert not coffee_shop("do you sell coffee beans")
    assert not coffee_shop("你们卖咖啡豆吗")
    assert coffee_shop("do you sell wine")  # the other wordings still count


def test_goods_or_words_the_kb_never_names_are_off_topic() -> None:
    kb = ["We sell Longjing and oolong in gift boxes.", "龙井和乌龙茶都有礼盒装。"]
    shop = OffTopic(kb, {term for text in kb for term in tokenize(text)})
    assert shop("do you guys stock scented candles") and shop("有没有卖蜂蜜")
    assert shop("你们卖月饼吗") and shop("quantum entanglement")
    assert not shop("do you sell longjing in gift boxes") and not shop("你们卖乌龙茶吗")
    assert not OffTopic(kb)("do you guys stock scented candles")  # no vocabulary: wording only


def test_the_check_costs_well_under_a_millisecond() -> None:
    questions = ["how long do i boil an egg " * 40, "明天会不会下雨" * 100] * 50
    started = time.process_time()
    for question in questions:
        PLAIN(question)
    assert (time.process_time() - started) / len(questions) < 0.001


@pytest.mark.parametrize(
    ("question", "lang"),
    [("what's the best way to store cooked rice", "en"), ("面包放冰箱能放几天", "zh")],
)
def test_a_look_alike_of_an_entry_is_handed_off(
    example_kb: KnowledgeBase, question: str, lang: str
) -> None:
    answer = example_kb.decide(question, lang)
    assert answer.handoff and answer.source is None and not answer.clarify
    assert answer.confidence < OFF_TOPIC_CONFIDENCE


def test_a_strong_match_that_mentions_another_thing_is_still_answered(
    example_kb: KnowledgeBase,
) -> None:
    answer = example_kb.decide("does green tea have less caffeine than a coffee or espresso", "en")
    assert answer.source == "faq.yaml#caffeine-content" and not answer.handoff
