"""Chat shorthand spelt out before retrieval: "do u take visa", "only have 300 pts".

Members type the short forms of everyday English chat; a KB writes the words. BM25
cannot meet "pts" with "points" at all, and the models saw too little of "pts" or
"b4" to place them near their words, so a question that is clear to a person reads
as off-topic or lands on whichever entry happens to contain the short form. The
retriever therefore searches with each short form replaced by its word (the member
still sees what they wrote). Two kinds are known:

- general English chat shorthand (:data:`GENERAL`): words of the language, about no
  shop in particular;
- everyday Chinese shopping shorthand (:data:`GENERAL_ZH`): trade slang such as 拉新
  ("bring in new customers") that a member types and a KB spells out;
- the shop's own glossary (:mod:`knowledge.glossary`): its merchant's list of its
  members' words, which wins over the rest;
- shorthand a KB defines itself, a word followed by its short form in brackets
  ("Tieguanyin (TGY)"): the short form's letters must appear in that order in the
  word, starting with its first letter, so "invoice (fapiao)" is a translation and
  not a short form.

A short form counts only as a whole word (Latin letters and digits on neither side),
so "u" in "menu" or "us" stays as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

#: everyday English chat shorthand → its words (lower case; nothing shop-specific)
GENERAL: Mapping[str, str] = {
    "u": "you", "ur": "your", "r": "are", "ya": "you", "pls": "please", "plz": "please",
    "ppl": "people", "pts": "points", "b4": "before", "bday": "birthday",
    "addr": "address", "addy": "address", "msg": "message", "msgs": "messages",
    "pkg": "package", "thx": "thanks", "tmr": "tomorrow", "tmrw": "tomorrow",
    "rn": "right now", "smth": "something", "sth": "something", "w/": "with",
    "w/o": "without", "abt": "about", "bc": "because", "cuz": "because", "coz": "because",
    "nite": "night", "thru": "through", "tho": "though", "wanna": "want to",
    "gonna": "going to", "gimme": "give me", "lemme": "let me", "dunno": "do not know",
    "idk": "I do not know", "yr": "year", "yrs": "years", "hr": "hour", "hrs": "hours",
    "secs": "seconds", "wk": "week", "wks": "weeks", "acct": "account", "qty": "quantity",
    "amt": "amount", "approx": "approximately", "asap": "as soon as possible",
    "pic": "picture", "pics": "pictures",
}  # fmt: skip

#: everyday Chinese shopping slang → the plain words a shop's KB writes (nothing shop-specific)
GENERAL_ZH: Mapping[str, str] = {
    "拉新": "邀请新朋友", "老带新": "邀请朋友", "拉人头": "邀请朋友",
}  # fmt: skip

#: "Tieguanyin (TGY)": a word, then 2-6 letters in brackets
_DEFINED = re.compile(r"([A-Za-z][A-Za-z-]{3,})\s*[(（]([A-Za-z]{2,6})[)）]")


def defined_in(texts: Iterable[str]) -> dict[str, str]:
    """Short forms a KB defines by writing them in brackets after their word."""
    found: dict[str, str] = {}
    for text in texts:
        for word, short in _DEFINED.findall(text):
            if _abbreviates(short.lower(), word.lower()):
                found.setdefault(short.lower(), word)
    return found


def _abbreviates(short: str, word: str) -> bool:
    """``short`` starts with ``word``'s first letter and takes the rest in order from it."""
    if short == word or short[0] != word[0]:
        return False
    rest = iter(word[1:])
    return all(letter in rest for letter in short[1:])


class Shorthand:
    """Replaces known short forms in a question by their words."""

    def __init__(self, forms: Mapping[str, str]) -> None:
        self.forms = {short.lower(): word for short, word in forms.items()}
        alternatives = "|".join(
            re.escape(short) + ("" if short.endswith("/") else r"(?![A-Za-z0-9'’]|\.[A-Za-z])")
            for short in sorted(self.forms, key=len, reverse=True)
        )
        self._pattern = (
            re.compile(rf"(?<![A-Za-z0-9'’/])(?:{alternatives})", re.IGNORECASE)
            if alternatives
            else None
        )

    @classmethod
    def for_texts(
        cls,
        texts: Iterable[str],
        kb_words: Iterable[str] = (),
        glossary: Mapping[str, str] | None = None,
    ) -> Shorthand:
        """The general shorthand plus what the KB defines and the shop's ``glossary``; a
        general short form the KB itself writes as a word (``kb_words``, lower case) means
        what the KB means by it."""
        texts = list(texts)
        defined = defined_in(texts)
        used = set(kb_words)
        general = {short: word for short, word in GENERAL.items() if short not in used}
        # a slang word the KB itself writes means what the KB means by it
        general_zh = {
            short: word
            for short, word in GENERAL_ZH.items()
            if not any(short in text for text in texts)
        }
        return cls({**general, **general_zh, **defined, **(glossary or {})})

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda match: self._word(match, text), text)

    def _word(self, match: re.Match[str], text: str) -> str:
        """The short form's word, unless the text already reads as that word around it
        (a Chinese term is matched inside words: "熟普" → "熟普洱" leaves "熟普洱" as it is)."""
        short = match.group()
        word = self.forms[short.lower()]
        inside = word.lower().find(short.lower())
        if inside >= 0:
            start = match.start() - inside
            if start >= 0 and text[start : start + len(word)].lower() == word.lower():
                return short
        return word
