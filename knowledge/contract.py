"""What the core and the flows need from the knowledge base."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A candidate source shown to the admin who takes over a handoff."""

    source: str
    title: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Answer:
    question: str
    #: the text shown to the member (or the handoff message when abstaining)
    answer: str
    #: ``faq.yaml#shipping-time`` or ``guide_en.md#Water``; None when abstaining
    source: str | None
    confidence: float
    handoff: bool
    lang: str
    #: a greeting or thanks, answered with a friendly word (no source, no handoff)
    small_talk: bool = False
    #: the best candidates, strongest first (for the admin who answers a handoff)
    candidates: tuple[Suggestion, ...] = ()

    def as_json(self) -> dict[str, object]:
        """The stable CLI contract: exactly these six fields."""
        return {
            "question": self.question,
            "answer": self.answer,
            "source": self.source,
            "confidence": round(self.confidence, 4),
            "handoff": self.handoff,
            "lang": self.lang,
        }


class Answerer(Protocol):
    async def answer(self, question: str, lang: str | None = None) -> Answer: ...
