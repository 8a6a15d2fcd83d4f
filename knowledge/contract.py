"""What the core and the flows need from the knowledge base."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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


class Answerer(Protocol):
    async def answer(self, question: str, lang: str | None = None) -> Answer: ...
