"""A member's question as retrieval should read it.

Chat messages arrive with full-width letters, a greeting in front ("hi
there, …", "亲，在吗？…"), Traditional characters for a Simplified KB (or
the other way round), chat shorthand ("u", "pts": :mod:`knowledge.shorthand`) or the shop's own slang
("tgy": :mod:`knowledge.glossary`), a product named
without its family ("碧螺春": :mod:`knowledge.families`) and
typos (English letters, Chinese homophones). None
of that says what the question is about, and each of it pulls the embedding
away from the KB's wording, so the retriever searches with a cleaned copy
(the member still sees their own text).

Typos are fixed only towards words the KB itself uses, and only when the
model's own vocabulary agrees that the typed word is broken: a misspelt word
falls apart into more sub-word pieces than the KB word it is one edit away
from ("spned" → "spend"). A correctly spelt word the KB never uses stays as
it is.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from knowledge.families import Families
from knowledge.homophones import HomophoneFixer
from knowledge.script import Script, dominant_script, to_simplified, to_traditional
from knowledge.shorthand import Shorthand
from knowledge.text import strip_greeting

#: words shorter than this are left alone (too many neighbours one edit away)
MIN_TYPO_LENGTH = 5

_WORD = re.compile(r"[A-Za-z]+")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"

#: model sub-word pieces of a word, or None when the model cannot tell
Pieces = Callable[[str], int | None]


class QueryNormaliser:
    def __init__(
        self,
        vocabulary: Counter[str],
        pieces: Pieces | None = None,
        script: Script = "simplified",
        homophones: HomophoneFixer | None = None,
        shorthand: Shorthand | None = None,
        families: Families | None = None,
    ) -> None:
        self.vocabulary = vocabulary
        self.pieces = pieces
        self.script = script
        self.homophones = homophones
        self.shorthand = shorthand
        self.families = families

    @classmethod
    def from_texts(
        cls,
        texts: Iterable[str],
        pieces: Pieces | None = None,
        glossary: Mapping[str, str] | None = None,
    ) -> QueryNormaliser:
        """Vocabulary = the (lower-cased) English words of the KB; script = its Chinese
        script; ``glossary``: the shop's words for its members' (:mod:`knowledge.glossary`)."""
        texts = list(texts)
        vocabulary: Counter[str] = Counter()
        for text in texts:
            vocabulary.update(word.lower() for word in _WORD.findall(text))
        return cls(
            vocabulary,
            pieces,
            dominant_script(texts),
            HomophoneFixer.from_texts(texts),
            Shorthand.for_texts(texts, vocabulary, glossary),
            Families.from_texts(texts),
        )

    def __call__(self, text: str) -> str:
        # greetings are listed in Simplified: stripped before converting to the KB's script
        folded = to_simplified(" ".join(unicodedata.normalize("NFKC", text).split()))
        question = strip_greeting(folded) or folded
        if self.script == "traditional":
            question = to_traditional(question)
        if self.homophones is not None:
            question = self.homophones(question)
        if self.shorthand is not None:
            question = self.shorthand(question)
        if self.families is not None:
            question = self.families(question)
        if self.pieces is None or not self.vocabulary:
            return question
        return _WORD.sub(lambda match: self._spelt(match.group(), match.start() == 0), question)

    def _spelt(self, word: str, first: bool) -> str:
        lower = word.lower()
        if len(word) < MIN_TYPO_LENGTH or lower in self.vocabulary:
            return word
        if not first and word != lower:
            return word  # a capitalised word mid-sentence is a name, not a typo
        candidates = [c for c in _one_edit(lower) if c in self.vocabulary]
        if not candidates or self.pieces is None:
            return word
        typed = self.pieces(lower)
        if typed is None:
            return word
        scored = []
        for candidate in candidates:
            pieces = self.pieces(candidate)
            if pieces is not None and pieces < typed:
                scored.append((pieces, -self.vocabulary[candidate], candidate))
        return min(scored)[2] if scored else word


def _one_edit(word: str) -> set[str]:
    """Every string one deletion, swap of neighbours, replacement or insertion away."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    swaps = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in _LETTERS]
    inserts = [a + c + b for a, b in splits for c in _LETTERS]
    return set(deletes + swaps + replaces + inserts) - {word}
