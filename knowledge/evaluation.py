"""Score an answerer on a question set (``q``, ``lang``, ``expect``: source id or ``none``).

In-domain accuracy counts only answers with the expected source (an
abstention is not correct); the wrong-answer rate counts answers with any
other source, over every question, since that is what hurts trust.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.contract import Answer


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    lang: str
    expect: str | None


@dataclass(slots=True)
class Tally:
    in_domain: int = 0
    correct: int = 0
    #: top candidate right, whether or not the bot dared to answer (retrieval quality)
    ranked_first: int = 0
    out_of_domain: int = 0
    abstained_ood: int = 0
    wrong: int = 0
    total: int = 0

    def add(self, question: Question, answer: Answer) -> None:
        self.total += 1
        if question.expect is None:
            self.out_of_domain += 1
            if answer.source is None:
                self.abstained_ood += 1
            else:
                self.wrong += 1
            return
        self.in_domain += 1
        top = answer.source or (answer.candidates[0].source if answer.candidates else None)
        if top is not None and matches(top, question.expect):
            self.ranked_first += 1
        if answer.source is not None and matches(answer.source, question.expect):
            self.correct += 1
        elif answer.source is not None:
            self.wrong += 1

    @property
    def accuracy(self) -> float:
        return self.correct / self.in_domain if self.in_domain else 0.0

    @property
    def ranked_accuracy(self) -> float:
        return self.ranked_first / self.in_domain if self.in_domain else 0.0

    @property
    def abstain_rate(self) -> float:
        return self.abstained_ood / self.out_of_domain if self.out_of_domain else 0.0

    @property
    def wrong_rate(self) -> float:
        return self.wrong / self.total if self.total else 0.0


@dataclass(slots=True)
class Report:
    overall: Tally = field(default_factory=Tally)
    by_lang: dict[str, Tally] = field(default_factory=dict)
    misses: list[tuple[Question, Answer]] = field(default_factory=list)


def matches(source: str, expect: str) -> bool:
    """``faq.yaml#shipping-time`` matches ``shipping-time``; guide sections match in full."""
    return source == expect or (source.split("#", 1)[-1] == expect and "#" not in expect)


def load_questions(path: Path) -> list[Question]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: a question set is a list of {{q, lang, expect}} entries")
    questions = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict) or "q" not in item or "expect" not in item:
            raise ValueError(f"{path}: entry {number} needs 'q' and 'expect'")
        expect = str(item["expect"])
        questions.append(
            Question(
                str(item["q"]),
                str(item.get("lang") or ""),
                None if expect.lower() == "none" else expect,
            )
        )
    return questions


def evaluate(questions: list[Question], ask: Callable[[Question], Answer]) -> Report:
    report = Report()
    for question in questions:
        answer = ask(question)
        report.overall.add(question, answer)
        report.by_lang.setdefault(question.lang or answer.lang, Tally()).add(question, answer)
        expected_ok = (
            answer.source is None
            if question.expect is None
            else answer.source is not None and matches(answer.source, question.expect)
        )
        if not expected_ok:
            report.misses.append((question, answer))
    return report
