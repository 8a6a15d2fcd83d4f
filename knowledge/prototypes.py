"""A second screening signal: which prototype messages a question's dense vector sits nearest.

The word patterns of :mod:`knowledge.screening` name what they were written to name;
an unseen complaint ("the cake is furry and green") or risky ask in other words slips
past them. The e5 vector the retriever computes for every question anyway places a
message by what it *does*, whatever its words, so it is set against a small bank of
short labelled messages (``screen_bank.yaml`` beside this module, written from the
categories' definitions in members' own voice, both languages): complaints, risky
asks, ordinary questions about the shop, and asides.

A class's score is the mean similarity of the question to its :data:`NEAREST` nearest
prototypes. A question counts as a complaint or a risky ask only when that class scores
highest, holds the single nearest prototype, and leads the best of the ordinary
questions and asides by ``margin`` (``risky_margin`` for a risky ask): the
patterns stay the first word, and this only adds handoffs they miss. What went wrong
(``problem``) or why the ask is refused (``risk``) is the label of the nearest
prototype of the winning class.

The bank is embedded once, with the question clean-up the retriever applies, and
cached beside the index (each text's vector, for one model), so a restart does not
embed it again and an edited KB question costs one model pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from knowledge.chunks import Chunk

BANK = Path(__file__).resolve().parent / "screen_bank.yaml"
#: the cache file, in the index folder
CACHE = "screen_bank.npz"
#: classes a question may be flagged as, and the ones they must lead
FLAGGED = ("complaint", "risky")
NEUTRAL = ("ordinary", "aside")
#: a complaint's label when it names no problem (knowledge.screening.PROBLEMS otherwise)
UPSET = "upset"
#: prototypes per class a question's score is the mean similarity to
NEAREST = 3


@dataclass(frozen=True, slots=True)
class Prototype:
    text: str
    #: one of :data:`FLAGGED` or :data:`NEUTRAL`
    kind: str
    #: a complaint's problem (or :data:`UPSET`), a risky ask's risk; None for neutral ones
    label: str | None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the nearest prototypes make of a question."""

    #: ``complaint`` or ``risky`` when flagged, else None
    kind: str | None
    #: the winning class's label (a problem, :data:`UPSET`, or a risk), else None
    label: str | None
    #: the flagged classes' lead over the best neutral one (the larger of the two)
    lead: float

    @property
    def complaint(self) -> bool:
        return self.kind == "complaint"

    @property
    def problem(self) -> str | None:
        return self.label if self.kind == "complaint" and self.label != UPSET else None

    @property
    def risk(self) -> str | None:
        return self.label if self.kind == "risky" else None


def load_bank(path: Path = BANK) -> list[Prototype]:
    """The prototypes in ``path``: ``complaint`` and ``risky`` map labels to messages,
    ``ordinary`` and ``aside`` are lists of messages."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    bank: list[Prototype] = []
    for kind in (*FLAGGED, *NEUTRAL):
        section = data.get(kind) or {}
        if kind in FLAGGED:
            bank += [
                Prototype(str(text), kind, str(label))
                for label, texts in section.items()
                for text in texts
            ]
        else:
            bank += [Prototype(str(text), kind, None) for text in section]
    return bank


class PrototypeScreen:
    def __init__(
        self,
        bank: list[Prototype],
        vectors: np.ndarray,
        margin: float,
        nearest: int = NEAREST,
        risky_margin: float | None = None,
    ) -> None:
        self.bank = bank
        self.margin = margin
        self.risky_margin = margin if risky_margin is None else risky_margin
        self.nearest = nearest
        #: each class's rows in ``vectors``
        self._rows = {
            kind: np.array([i for i, p in enumerate(bank) if p.kind == kind], dtype=np.int64)
            for kind in (*FLAGGED, *NEUTRAL)
        }
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def scores(self, similarity: np.ndarray) -> dict[str, float]:
        """Each class's mean ``similarity`` (of the question to every prototype) to its
        :attr:`nearest` closest prototypes."""
        scores = {}
        for kind, rows in self._rows.items():
            if not rows.size:
                scores[kind] = -1.0
                continue
            near = np.sort(similarity[rows])[-self.nearest :]
            scores[kind] = float(near.mean())
        return scores

    def __call__(self, dense: np.ndarray | None) -> Verdict:
        if dense is None:
            return Verdict(None, None, 0.0)
        similarity = self.vectors @ dense.astype(np.float32, copy=False)
        scores = self.scores(similarity)
        neutral = max(scores[kind] for kind in NEUTRAL)
        best = max(FLAGGED, key=lambda kind: scores[kind])
        lead = scores[best] - neutral
        nearest = int(np.argmax(similarity))
        margin = self.risky_margin if best == "risky" else self.margin
        if lead < margin or self.bank[nearest].kind != best:
            return Verdict(None, None, lead)
        return Verdict(best, self.bank[nearest].label, lead)


def bank_vectors(
    texts: list[str],
    embed: Callable[[str], np.ndarray],
    model: str,
    cache_dir: Path | None,
) -> np.ndarray:
    """The texts' question vectors: those ``cache_dir`` holds for ``model`` are reused,
    the others embedded one by one (an edited KB question costs one pass, not the bank),
    and the cache rewritten when anything changed."""
    cache = cache_dir / CACHE if cache_dir is not None else None
    known: dict[str, np.ndarray] = {}
    if cache is not None and cache.is_file():
        try:
            with np.load(cache) as stored:
                if str(stored["model"]) == model:
                    known = dict(zip(map(str, stored["texts"]), stored["vectors"], strict=True))
        except (OSError, ValueError, KeyError):
            pass  # unreadable: embedded again and overwritten
    vectors = np.stack([known[text] if text in known else embed(text) for text in texts]).astype(
        np.float32
    )
    if cache is not None and cache.parent.is_dir() and set(texts) != set(known):
        staging = cache.with_suffix(".tmp.npz")
        np.savez(staging, model=np.array(model), texts=np.array(texts), vectors=vectors)
        staging.replace(cache)
    return vectors


def build_screen(
    normalise: Callable[[str], str],
    embed: Callable[[str], np.ndarray],
    model: str,
    cache_dir: Path | None,
    margin: float,
    bank: Iterable[Prototype] | None = None,
    kb_questions: Iterable[str] = (),
    risky_margin: float | None = None,
) -> PrototypeScreen:
    """The screen for this KB: the bank, and the KB's own questions (``kb_questions``,
    ordinary ones by definition), cleaned up as questions are (``normalise``), embedded
    as questions (``embed``), cached in ``cache_dir``."""
    prototypes = list(bank) if bank is not None else load_bank()
    prototypes += [Prototype(text, "ordinary", None) for text in kb_questions]
    texts = [normalise(p.text) for p in prototypes]
    vectors = bank_vectors(texts, embed, model, cache_dir)
    return PrototypeScreen(prototypes, vectors, margin, risky_margin=risky_margin)


def questions_of(chunks: Iterable[Chunk]) -> list[str]:
    """The questions a KB answers: its FAQ entries' main questions.

    Not their alternates: a KB with many member-voice wordings (slang, terse, upset-sounding
    "where's my parcel??") would put an ordinary neighbour nearest to almost every complaint
    and hide it (on the seen sets, 4 complaints and risky asks fewer were handed off)."""
    questions: dict[str, None] = {}
    for chunk in chunks:
        if chunk.role == "answer" and chunk.title.rstrip().endswith(("?", "？")):
            questions[chunk.title.strip()] = None
    return list(questions)
