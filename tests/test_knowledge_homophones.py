"""Chinese homophone typos (pinyin input slips) fixed towards the KB's own wording."""

from __future__ import annotations

import yaml
from conftest import SHARED_KB

from knowledge.homophones import HomophoneFixer
from knowledge.service import KnowledgeBase

pytest_plugins = ["knowledge_support"]

KB = [
    "实付满199元包邮，不满199元收运费。新疆地区满399元包邮。",
    "发票在订单页申请，电子发票当天开出。",
    "绿茶和红茶都建议放冰箱冷藏；冰箱里拿出来先回温。",
    "小包装试喝装每款10克。",
    "白茶和红茶都可以煮。",
]


def test_a_slip_is_fixed_towards_a_kb_pair_that_sounds_the_same() -> None:
    fix = HomophoneFixer.from_texts(KB)
    assert fix("满多少包油") == "满多少包邮"  # you: 油 for 邮
    assert fix("发漂在哪开") == "发票在哪开"
    assert fix("茶叶要不要放冰相") == "茶叶要不要放冰箱"  # tones differ: xiàng / xiāng


def test_words_neighbours_and_function_characters_are_left_alone() -> None:
    fix = HomophoneFixer.from_texts(KB)
    assert fix("公司要开发票") == "公司要开发票"  # real words, and KB pairs
    assert fix("想试和") == "想试和"  # 试喝 occurs once in the KB: not yet its wording
    # 喝红 sounds like the KB's 和红, but 和 is a function character, not a slip
    assert fix("我妈妈喜欢喝红茶") == "我妈妈喜欢喝红茶"
    assert fix("free shipping?") == "free shipping?"
    assert HomophoneFixer.from_texts([])("满多少包油") == "满多少包油"


def test_a_character_held_by_its_other_neighbour_is_not_changed() -> None:
    fix = HomophoneFixer.from_texts([*KB, "有效期两年，有效期内包换。"])
    # 有小 sounds like the KB's 有效, but 小 belongs to 小包 (小包装): two words side by side
    assert fix("有小包装吗") == "有小包装吗"


def test_clean_questions_are_never_changed(camellia: KnowledgeBase) -> None:
    fix = camellia.require().retriever.normalise.homophones
    assert fix is not None
    questions = yaml.safe_load((SHARED_KB / "dev_questions.yaml").read_text(encoding="utf-8"))
    assert [q["q"] for q in questions if fix(q["q"]) != q["q"]] == []


def test_slips_still_find_their_answer(camellia: KnowledgeBase) -> None:
    for slip, clean, source in [
        ("满多少包油", "满多少包邮", "faq.yaml#free-shipping"),
        ("发漂在哪开", "发票在哪开", "faq.yaml#invoice"),
        ("退宽几天到账", "退款几天到账", "faq.yaml#refund-timing"),
    ]:
        answer = camellia.decide(slip)
        assert answer.source == source, slip
        assert abs(answer.confidence - camellia.decide(clean).confidence) < 1e-6


def test_a_word_left_in_pinyin_is_read_as_the_kb_word_it_spells() -> None:
    fix = HomophoneFixer.from_texts([*KB, "发票"])
    assert fix("fapiao怎么开，要公司抬头") == "发票怎么开，要公司抬头"
    assert fix("FaPiao怎么开") == "发票怎么开"
    # only inside a Chinese question, only a whole Latin word, and only a KB word
    assert fix("can I get a fapiao?") == "can I get a fapiao?"
    assert fix("fapiaos怎么开") == "fapiaos怎么开"
    assert fix("points怎么抵现") == "points怎么抵现"


def test_an_invoice_asked_in_pinyin_finds_the_invoice_entry(example_kb: KnowledgeBase) -> None:
    answer = example_kb.decide("fapiao怎么开，要公司抬头", "zh")
    assert (answer.source, answer.handoff) == ("faq.yaml#invoice", False)
