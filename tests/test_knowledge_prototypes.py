"""The prototype screen (issue 18): complaints and risky asks in wordings no pattern of
knowledge/screening.py knows are still handed off, by the prototype messages their e5
vector sits nearest; ordinary questions are still answered. The messages here are our
own, none from a question set or from the bank."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.i18n import Catalog
from knowledge.prototypes import CACHE, Prototype, PrototypeScreen, bank_vectors, load_bank
from knowledge.screening import screen
from knowledge.service import KnowledgeBase

CATALOG = Catalog()


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("i ordered the gift box for my mum and it turned up with no ribbon or card at all", "en"),
        ("这罐茶看着像被大卡车压过一样", "zh"),
    ],
)
def test_a_complaint_no_pattern_knows_is_handed_off_as_a_complaint(
    example_kb: KnowledgeBase, question: str, lang: str
) -> None:
    assert screen(question) == screen("")  # the words alone say nothing
    answer = example_kb.decide(question, lang)
    assert answer.complaint and answer.handoff and answer.risk is None
    assert answer.answer.startswith(CATALOG.t(lang, "knowledge.complaint"))


@pytest.mark.parametrize(
    ("question", "lang", "risk"),
    [
        ("can i put the tea on my company's books as office costs", "en", "legal"),
        ("囤十饼白茶等它涨价 靠谱不", "zh", "financial"),
    ],
)
def test_a_risky_ask_no_pattern_knows_gets_the_refusal(
    example_kb: KnowledgeBase, question: str, lang: str, risk: str
) -> None:
    assert screen(question) == screen("")
    answer = example_kb.decide(question, lang)
    assert answer.handoff and answer.source is None and answer.risk == risk
    assert answer.answer == CATALOG.t(lang, "knowledge.risky")


@pytest.mark.parametrize(
    ("question", "lang", "source"),
    [
        ("how long can i keep an opened pack of green tea", "en", "faq.yaml#shelf-life"),
        ("可以寄到新加坡吗", "zh", "faq.yaml#international-shipping"),
    ],
)
def test_an_ordinary_question_is_still_answered(
    example_kb: KnowledgeBase, question: str, lang: str, source: str
) -> None:
    answer = example_kb.decide(question, lang)
    assert not answer.handoff and not answer.complaint and answer.risk is None
    assert answer.source == source


def _unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def _screen(margin: float, risky_margin: float | None = None) -> PrototypeScreen:
    bank = [
        Prototype("mouldy", "complaint", "goods"),
        Prototype("late", "complaint", "delivery"),
        Prototype("pills", "risky", "medical"),
        Prototype("how to brew", "ordinary", None),
        Prototype("weather", "aside", None),
    ]
    vectors = np.stack(
        [
            _unit(1, 0, 0, 0),
            _unit(1, 0.3, 0, 0),
            _unit(0, 1, 0, 0),
            _unit(0, 0, 1, 0),
            _unit(0, 0, 0, 1),
        ]
    )
    return PrototypeScreen(bank, vectors, margin, nearest=1, risky_margin=risky_margin)


def test_a_flag_needs_the_lead_and_the_nearest_prototype() -> None:
    near_mould = _screen(0.1)(_unit(1, 0, 0.2, 0))
    assert near_mould.complaint and near_mould.problem == "goods" and near_mould.risk is None
    assert _screen(0.1)(_unit(0, 1, 0.1, 0)).risk == "medical"
    assert _screen(0.1)(_unit(0.1, 0, 1, 0)).kind is None  # nearer the ordinary one
    halfway = _unit(1, 0, 0.9, 0)  # a complaint by a hair: below the margin
    assert _screen(0.1)(halfway).kind is None and _screen(0.0)(halfway).complaint
    assert _screen(0.0)(None).kind is None


def test_a_risky_verdict_needs_its_own_wider_lead() -> None:
    near_pills = _unit(0, 1, 0.5, 0)  # leads the ordinary prototype by about 0.45
    assert _screen(0.1)(near_pills).risk == "medical"
    assert _screen(0.1, risky_margin=0.5)(near_pills).kind is None
    # a complaint keeps the narrower margin
    assert _screen(0.1, risky_margin=0.5)(_unit(1, 0, 0.2, 0)).complaint


def test_the_bank_is_embedded_once_and_cached_beside_the_index(tmp_path: Path) -> None:
    calls: list[str] = []

    def embed(text: str) -> np.ndarray:
        calls.append(text)
        return _unit(len(text), 1)

    first = bank_vectors(["a", "bb"], embed, "model", tmp_path)
    again = bank_vectors(["a", "bb"], embed, "model", tmp_path)
    assert calls == ["a", "bb"] and (tmp_path / CACHE).is_file()
    np.testing.assert_array_equal(first, again)
    bank_vectors(["a", "ccc"], embed, "model", tmp_path)  # one text changed: one pass
    assert calls == ["a", "bb", "ccc"]
    bank_vectors(["a", "ccc"], embed, "another model", tmp_path)  # another model: all anew
    assert calls == ["a", "bb", "ccc", "a", "ccc"]


def test_the_shipped_bank_has_every_class_in_both_languages() -> None:
    bank = load_bank()
    for kind in ("complaint", "risky", "ordinary", "aside"):
        texts = [p.text for p in bank if p.kind == kind]
        assert any(t.isascii() for t in texts) and any(not t.isascii() for t in texts), kind
    risks = {p.label for p in bank if p.kind == "risky"}
    assert risks == {"injection", "admin_order", "medical", "legal", "financial"}
    problems = {p.label for p in bank if p.kind == "complaint"}
    assert problems == {"goods", "money", "delivery", "service", "upset"}
