"""What every knowledge reader makes: :class:`Chunk`, and :class:`SourceError` for a file
it cannot read.

Every chunk knows the source it is cited as (``faq.yaml#shipping-time``,
``guide_en.md#Water``), its language, and the text shown to the member.
A module of its own so the readers (:mod:`knowledge.faq`, :mod:`knowledge.markdown`)
and :mod:`knowledge.documents`, which calls them, share these without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class SourceError(ValueError):
    """A knowledge file that cannot be read; the message names file and entry."""


@dataclass(frozen=True, slots=True)
class Chunk:
    #: how the answer is cited: ``<file name>#<id or heading>``
    source: str
    lang: str
    #: the text that is embedded and indexed
    text: str
    #: what the member is shown, per language (FAQ entries have both)
    answers: dict[str, str] = field(default_factory=dict)
    #: a short label for admins (the FAQ question or the heading)
    title: str = ""
    #: the FAQ entry's ``tags`` (after-sales entries are shown beside a complaint)
    tags: tuple[str, ...] = ()
    #: ``answer`` (the entry itself), ``alternate`` (another wording of its question, ranked
    #: like the entry), ``not_for`` (a question it must not answer) or ``question`` (one of
    #: its own questions alone, to weigh the not_for examples against); the last two are
    #: never retrieved
    role: str = "answer"

    @property
    def retrievable(self) -> bool:
        """May this chunk answer a question (not a not_for example or a bare question)?"""
        return self.role in ("answer", "alternate")

    def answer_in(self, lang: str) -> tuple[str, str]:
        """(text, language) — the member's language when the source has it."""
        if lang in self.answers:
            return self.answers[lang], lang
        if self.lang not in self.answers and self.answers:
            # a wording in a language its entry or section is not written in
            answer_lang, text = next(iter(self.answers.items()))
            return text, answer_lang
        return self.answers.get(self.lang) or self.text, self.lang

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "lang": self.lang,
            "text": self.text,
            "answers": self.answers,
            "title": self.title,
            "tags": list(self.tags),
            "role": self.role,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Chunk:
        return cls(
            source=str(data["source"]),
            lang=str(data["lang"]),
            text=str(data["text"]),
            answers={str(k): str(v) for k, v in dict(data.get("answers") or {}).items()},
            title=str(data.get("title", "")),
            tags=tuple(str(t) for t in data.get("tags") or ()),
            role=str(data.get("role", "answer")),
        )
