"""Product families a KB names itself: "绿茶（如龙井、碧螺春）", "black teas such as Keemun".

A member asks about the product they hold ("碧螺春咋泡", "keemun steep time"); the KB
answers for its family ("绿茶怎么泡？"). Neither BM25 nor a small model knows that
碧螺春 is a green tea, so the question reads as off-topic or lands on whichever
brewing entry is nearest. A KB that lists a family's members says so in its own
words, in one of these forms (a list such as "适合普洱、岩茶这类需要高温的茶" is
not one: nothing there marks where the family's name ends):

- ``绿茶（如龙井、碧螺春）`` (a family, then its members in brackets after 如 or 例如);
- ``Black teas such as Keemun and Lapsang Souchong`` / ``green tea (e.g. Longjing,
  Biluochun)`` (a family, then capitalised member names).

The retriever then searches with the family written beside a member the question
names ("碧螺春绿茶咋泡"), unless the question already names the family; the member
still sees what they wrote. Nothing here knows about tea: a KB that writes no such
list gets no expansion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_HAN = r"[\u3400-\u4dbf\u4e00-\u9fff]"
#: 绿茶（如龙井、碧螺春）
_ZH_BRACKETED = re.compile(
    rf"({_HAN}{{2,4}})[（(](?:例如|比如|如)((?:{_HAN}{{2,6}}[、和及]?)+)[)）]"
)
_NAME = r"[A-Z][\w'-]*(?: [A-Z][\w'-]*)*"
#: Black teas such as Keemun and Lapsang Souchong / green tea (e.g. Longjing, Biluochun)
_EN = re.compile(
    rf"\b([A-Za-z]+) (teas?|wines?|coffees?)\b,? \(?(?:such as|like|e\.g\.,?|including) "
    rf"({_NAME}(?:, {_NAME})*(?:,? (?:and|or) {_NAME})?)"
)
_EN_SPLIT = re.compile(r",? (?:and|or) |, ")
_ZH_SPLIT = re.compile(r"[、和及]")


def defined_in(texts: Iterable[str]) -> dict[str, str]:
    """Member → family, for every family list the KB writes (first one wins)."""
    found: dict[str, str] = {}
    for text in texts:
        for family, members in _ZH_BRACKETED.findall(text):
            _add(found, _ZH_SPLIT.split(members), family)
        for kind, noun, members in _EN.findall(text):
            family = f"{kind.lower()} {noun.rstrip('s').lower()}"
            _add(found, _EN_SPLIT.split(members), family)
    return found


def _add(found: dict[str, str], members: Iterable[str], family: str) -> None:
    for member in members:
        member = member.strip()
        # a member that contains its family's name (祁门红茶) already says what it is
        if len(member) >= 2 and family.lower() not in member.lower():
            found.setdefault(member, family)


class Families:
    """Writes a product's family beside it in a question."""

    def __init__(self, members: Mapping[str, str]) -> None:
        self.members = dict(members)
        names = sorted(self.members, key=len, reverse=True)
        self._pattern = (
            re.compile(
                "|".join(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])" for name in names),
                re.IGNORECASE,
            )
            if names
            else None
        )
        self._family_of = {name.lower(): family for name, family in self.members.items()}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Families:
        return cls(defined_in(texts))

    def __call__(self, question: str) -> str:
        if self._pattern is None:
            return question
        lowered = question.lower()

        def beside(match: re.Match[str]) -> str:
            family = self._family_of[match.group().lower()]
            if family.lower() in lowered:
                return match.group()
            gap = "" if re.match(_HAN, family) else " "
            return f"{match.group()}{gap}{family}"

        return self._pattern.sub(beside, question)
