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
    #: two close entries: the member is asked which one is meant (``source`` is then None)
    clarify: tuple[str, ...] = ()
    #: the member reports a problem: a person follows up (``handoff``), tagged needs-care
    complaint: bool = False
    #: what the complaint says went wrong, when it names it (``goods``, ``money``,
    #: ``delivery``, ``service``: knowledge.screening.PROBLEMS); None for plain upset
    problem: str | None = None
    #: why the ask was refused without a KB answer (``medical``, ``legal``, ``financial``,
    #: ``admin_order``, ``injection``, ``privacy``), else None
    risk: str | None = None

    def as_json(self) -> dict[str, object]:
        """The stable CLI contract: these seven fields (``clarify``: sources to choose from)."""
        return {
            "question": self.question,
            "answer": self.answer,
            "source": self.source,
            "confidence": round(self.confidence, 4),
            "handoff": self.handoff,
            "lang": self.lang,
            "clarify": list(self.clarify),
        }


class Answerer(Protocol):
    async def answer(self, question: str, lang: str | None = None) -> Answer: ...
