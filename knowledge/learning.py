"""What admins taught the bot, merged into the knowledge files when the index is built.

An admin who answers a handed-off question (or uses ``/kb teach``) can keep the
member's wording as a *paraphrase* of an FAQ entry, or keep question + reply as a
*new entry*. Both live in the database (``storage.kb_learning``), not in the shop's
files, so a running bot learns without anyone editing YAML, and they are added
here exactly as if they were written in the files: a paraphrase becomes one more
``questions_<lang>`` of its entry, a new entry an entry of ``learned.yaml``.
``warmline kb export`` writes the same merge back out in the source format.

The files win: a wording an entry already has, or a taught entry whose id a file
already defines (``learned.yaml`` kept after an export), is not added twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

#: the file taught entries are cited from (``learned.yaml#learned-7``) and exported to
LEARNED_FILE = "learned.yaml"
PARAPHRASE = "paraphrase"
ENTRY = "entry"


class LearnedRow(Protocol):
    """One stored lesson (``storage.kb_learning.LearnedRecord``)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def source(self) -> str | None: ...
    @property
    def lang(self) -> str: ...
    @property
    def question(self) -> str: ...
    @property
    def answer(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Paraphrase:
    #: the entry it asks for, as cited: ``faq.yaml#points-earning``
    source: str
    lang: str
    question: str


@dataclass(frozen=True, slots=True)
class TaughtEntry:
    id: str
    lang: str
    question: str
    answer: str

    @property
    def source(self) -> str:
        return f"{LEARNED_FILE}#{self.id}"

    def as_faq(self) -> dict[str, Any]:
        return {
            "id": self.id,
            f"question_{self.lang}": self.question,
            f"answer_{self.lang}": self.answer,
        }


def entry_id(row_id: int) -> str:
    return f"learned-{row_id}"


@dataclass(frozen=True, slots=True)
class Learned:
    paraphrases: tuple[Paraphrase, ...] = ()
    entries: tuple[TaughtEntry, ...] = ()

    @classmethod
    def of(cls, rows: Iterable[LearnedRow]) -> Learned:
        paraphrases: list[Paraphrase] = []
        entries: list[TaughtEntry] = []
        for row in rows:
            if row.kind == PARAPHRASE and row.source:
                paraphrases.append(Paraphrase(row.source, row.lang, row.question))
            elif row.kind == ENTRY and row.answer:
                entries.append(TaughtEntry(entry_id(row.id), row.lang, row.question, row.answer))
        return cls(tuple(paraphrases), tuple(entries))

    def __bool__(self) -> bool:
        return bool(self.paraphrases or self.entries)

    def digest(self) -> str:
        """Changes whenever a lesson is added or removed ('' when there is none)."""
        if not self:
            return ""
        data = [[p.source, p.lang, p.question] for p in self.paraphrases]
        data += [[e.id, e.lang, e.question, e.answer] for e in self.entries]
        return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:16]

    def merge(self, name: str, entries: list[Any]) -> tuple[list[Any], int]:
        """The FAQ file ``name``'s entries with the paraphrases taught for them added to
        ``questions_<lang>``, and how many were added (entries are copied, not changed)."""
        wanted: dict[str, list[Paraphrase]] = {}
        for paraphrase in self.paraphrases:
            file_name, _, entry_name = paraphrase.source.partition("#")
            if file_name == name:
                wanted.setdefault(entry_name, []).append(paraphrase)
        if not wanted:
            return entries, 0
        merged: list[Any] = []
        added = 0
        for original in entries:
            extra = wanted.get(str(original.get("id"))) if isinstance(original, dict) else None
            if not extra:
                merged.append(original)
                continue
            entry = dict(original)
            for paraphrase in extra:
                key = f"questions_{paraphrase.lang}"
                if not isinstance(entry.get(key) or [], list):
                    continue  # malformed: the FAQ loader names the problem
                known = list(entry.get(key) or [])
                seen = {_folded(str(q)) for q in known}
                seen |= {_folded(str(entry.get(f"question_{lang}") or "")) for lang in ("zh", "en")}
                if _folded(paraphrase.question) in seen:
                    continue
                entry[key] = [*known, paraphrase.question]
                added += 1
            merged.append(entry)
        return merged, added

    def taught_entries(self, defined: set[str]) -> list[TaughtEntry]:
        """The taught entries no file defines yet (``defined``: sources already indexed)."""
        return [entry for entry in self.entries if entry.source not in defined]


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())
