"""Score an answerer on a question set (``q``, ``lang``, ``expect``: source id or ``none``;
optional ``kind``: ``offtopic``, ``complaint`` or ``risky`` for asks that must be handed off).

In-domain top-1 counts only answers with the expected source (an abstention
or a clarifying question is not correct); the wrong-answer rate counts
answers with any other source, over every question, since that is what hurts
trust. A must-hand-off ask counts as handed off when the bot gives no source
of its own accord or hands it to a person; a complaint may show the after-sales
entry named in ``expect`` beside the handoff without counting as wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.contract import Answer

KINDS = ("offtopic", "complaint", "risky")


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    lang: str
    expect: str | None
    #: None for an in-domain question, else one of :data:`KINDS`
    kind: str | None = None

    @property
    def must_hand_off(self) -> bool:
        return self.kind is not None or self.expect is None


@dataclass(slots=True)
class Tally:
    in_domain: int = 0
    correct: int = 0
    #: top candidate right, whether or not the bot dared to answer (retrieval quality)
    ranked_first: int = 0
    #: in-domain questions answered with a clarifying question
    clarified: int = 0
    out_of_domain: int = 0
    abstained_ood: int = 0
    wrong: int = 0
    total: int = 0
    #: per kind of must-hand-off ask: (handed off, asked)
    kinds: dict[str, list[int]] = field(default_factory=dict)

    def add(self, question: Question, answer: Answer) -> None:
        self.total += 1
        if question.must_hand_off:
            self.out_of_domain += 1
            counts = self.kinds.setdefault(question.kind or "offtopic", [0, 0])
            counts[1] += 1
            if handed_off(answer):
                self.abstained_ood += 1
                counts[0] += 1
            if answer.source is not None and not (
                question.kind == "complaint"
                and question.expect is not None
                and matches(answer.source, question.expect)
            ):
                self.wrong += 1
            return
        assert question.expect is not None
        self.in_domain += 1
        top = answer.source or (answer.candidates[0].source if answer.candidates else None)
        if top is not None and matches(top, question.expect):
            self.ranked_first += 1
        if answer.clarify:
            self.clarified += 1
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
    def clarify_rate(self) -> float:
        return self.clarified / self.in_domain if self.in_domain else 0.0

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


def handed_off(answer: Answer) -> bool:
    """A person takes over, or the bot kept quiet without guessing or asking back."""
    return answer.handoff or (answer.source is None and not answer.clarify)


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
        kind = item.get("kind")
        if kind is not None and kind not in KINDS:
            raise ValueError(f"{path}: entry {number}: kind must be one of {', '.join(KINDS)}")
        questions.append(
            Question(
                str(item["q"]),
                str(item.get("lang") or ""),
                None if expect.lower() == "none" else expect,
                None if kind is None else str(kind),
            )
        )
    return questions


def evaluate(questions: list[Question], ask: Callable[[Question], Answer]) -> Report:
    report = Report()
    for question in questions:
        answer = ask(question)
        report.overall.add(question, answer)
        report.by_lang.setdefault(question.lang or answer.lang, Tally()).add(question, answer)
        if question.must_hand_off:
            expected_ok = handed_off(answer) and (
                answer.source is None
                or (question.expect is not None and matches(answer.source, question.expect))
            )
        else:
            expected_ok = answer.source is not None and matches(
                answer.source, question.expect or ""
            )
        if not expected_ok:
            report.misses.append((question, answer))
    return report
