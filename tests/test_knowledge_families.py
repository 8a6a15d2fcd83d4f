"""Product families a KB names itself, written beside a member in a question."""

from __future__ import annotations

from knowledge.families import Families, defined_in
from knowledge.service import KnowledgeBase

pytest_plugins = ["knowledge_support"]

KB = [
    "原则是：茶越嫩，水温越低。绿茶（如龙井、碧螺春）用80–85℃。",
    "- **Glass**: best for green teas such as Longjing and Biluochun.",
    "Black teas such as Keemun and Lapsang Souchong should be poured off quickly.",
    "可以开发票吗？电子普通发票（例如增值税普票）。",
]


def test_families_are_read_from_the_kbs_own_lists() -> None:
    members = defined_in(KB)
    assert members["龙井"] == members["碧螺春"] == "绿茶"
    assert members["Biluochun"] == "green tea"
    assert members["Lapsang Souchong"] == "black tea"
    # a member that names its family already says what it is
    assert "增值税普票" in members
    assert "祁门红茶" not in defined_in(["红茶（如祁门红茶、正山小种）"])


def test_a_list_without_a_marked_family_defines_nothing() -> None:
    # 这类 gives no end to the family's name: "需要高温的茶" is not a family
    assert defined_in(["适合普洱、岩茶这类需要高温的茶", "秒杀、拼团、上新等促销推送"]) == {}
    assert defined_in(["It suits oolong, white tea, black tea and pu-erh alike."]) == {}


def test_the_family_is_written_beside_a_member() -> None:
    beside = Families.from_texts(KB)
    assert beside("碧螺春咋泡") == "碧螺春绿茶咋泡"
    assert beside("keemun steep time?") == "keemun black tea steep time?"
    # a question that names the family already, or no member, is left as it is
    assert beside("绿茶龙井水温") == "绿茶龙井水温"
    assert beside("how do I brew oolong?") == "how do I brew oolong?"
    assert beside("longjingx") == "longjingx"  # only a whole name
    assert Families.from_texts([])("碧螺春咋泡") == "碧螺春咋泡"


def test_a_green_tea_by_name_finds_the_green_tea_entry(example_kb: KnowledgeBase) -> None:
    for question in ("碧螺春咋泡", "龙井怎么泡比较好"):
        answer = example_kb.decide(question, "zh")
        assert (answer.source, answer.handoff) == ("faq.yaml#brew-green-tea", False), question
