"""The segment filter language, shared by /segment, /broadcast, ``warmline broadcast``
and the dashboard's member search, so one filter means the same members everywhere.

A filter is terms joined by spaces, all of which must hold: ``tag:<t>``,
``tier:<ordinary|active|core>``, ``source:<s>``, ``lang:<zh|en>``, ``stage:<stage>``;
``!`` before a term negates it. It compiles to one SQLAlchemy Core condition on
``members`` (correlated EXISTS, never NULL, so ``!`` is a plain NOT), which the
database evaluates, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, not_, or_, select

from storage.flow_tables import Journey, MemberTag
from storage.tables import Member

KINDS = ("tag", "tier", "source", "lang", "stage")
TIERS = ("ordinary", "active", "core")
LANGUAGES = ("zh", "en")
#: the stages the playbook moves a journey through (flows/actions.py, flows/purchase.py)
STAGES = ("greeting", "value", "offered", "customer")
#: the source of a member who came without a deep link (as insight counts them)
NO_SOURCE = "direct"
MAX_TERMS = 12

_TAG = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,47}$")  # as flows.tags.clean_tag accepts
_SOURCE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")  # a Telegram deep-link payload's characters

#: English texts of the errors (CLI, dashboard); chat uses catalog keys segment.error.<code>
MESSAGES = {
    "empty": "a segment filter needs at least one term, e.g. tag:vip",
    "too_many": "a segment filter has at most {max} terms",
    "not_a_term": (
        '"{term}" is not a filter term; terms are tag:, tier:, source:, lang:, stage: '
        "(e.g. tag:{hint} or !tier:core)"
    ),
    "unknown_kind": '"{term}": unknown kind "{kind}"; kinds: tag, tier, source, lang, stage',
    "no_value": '"{term}" needs a value after the colon',
    "bad_tag": '"{term}": a tag is lower-case letters, digits, "-" and "_" (up to 48 characters)',
    "bad_tier": '"{term}": unknown tier "{value}"; tiers: ordinary, active, core',
    "bad_lang": '"{term}": unknown language "{value}"; languages: zh, en',
    "bad_stage": '"{term}": unknown stage "{value}"; stages: greeting, value, offered, customer',
    "bad_source": '"{term}": a source is letters, digits, "-" and "_" (up to 64 characters)',
    "bad_name": (
        '"{name}" cannot name a segment: lower-case letters, digits, "-" and "_" '
        "(up to 32 characters), no colon"
    ),
    "reserved_name": '"{name}" is a built-in segment; choose another name',
    "unknown_name": 'no saved segment "{name}"; saved: {names}',
    "too_many_saved": "at most {max} segments can be saved; delete one first",
}


class SegmentError(ValueError):
    """A filter or segment name that cannot be used; ``code`` and ``values`` let a chat
    say why in the admin's language (catalog keys ``segment.error.<code>``)."""

    def __init__(self, code: str, **values: object) -> None:
        super().__init__(MESSAGES[code].format(**values))
        self.code = code
        self.values = values


@dataclass(frozen=True, slots=True)
class Term:
    kind: str
    value: str
    negated: bool = False

    def __str__(self) -> str:
        return f"{'!' if self.negated else ''}{self.kind}:{self.value}"


@dataclass(frozen=True, slots=True)
class SegmentFilter:
    terms: tuple[Term, ...]

    def __str__(self) -> str:
        """The canonical text: ``parse(str(f)) == f``."""
        return " ".join(str(term) for term in self.terms)


def is_filter(text: str) -> bool:
    """Whether ``text`` is meant as a filter (a name never holds ``:`` nor starts with ``!``)."""
    return ":" in text or text.strip().startswith("!")


def parse(text: str) -> SegmentFilter:
    """Read a filter; a bad term raises :class:`SegmentError` naming it."""
    words = text.split()
    if not words:
        raise SegmentError("empty")
    if len(words) > MAX_TERMS:
        raise SegmentError("too_many", max=MAX_TERMS)
    terms: list[Term] = []
    for word in words:
        term = _term(word)
        if term not in terms:
            terms.append(term)
    return SegmentFilter(tuple(terms))


def _term(word: str) -> Term:
    negated = word.startswith("!")
    body = word[1:] if negated else word
    kind, colon, raw = body.partition(":")
    if not colon:
        raise SegmentError("not_a_term", term=word, hint=body.lower() or "vip")
    kind = kind.lower()
    if kind not in KINDS:
        raise SegmentError("unknown_kind", term=word, kind=kind)
    if not raw:
        raise SegmentError("no_value", term=word)
    value = raw if kind == "source" else raw.lower()
    allowed = {"tier": TIERS, "lang": LANGUAGES, "stage": STAGES}.get(kind)
    if allowed is not None and value not in allowed:
        raise SegmentError(f"bad_{kind}", term=word, value=raw)
    if kind == "tag" and not _TAG.match(value):
        raise SegmentError("bad_tag", term=word, value=raw)
    if kind == "source" and not _SOURCE.match(value):
        raise SegmentError("bad_source", term=word, value=raw)
    return Term(kind, value, negated)


_members = Member.__table__
_journeys = Journey.__table__
_tags = MemberTag.__table__


def condition(segment: SegmentFilter, default_language: str = "en") -> ColumnElement[bool]:
    """The filter as a WHERE condition on ``members`` (use it in any query over that table).

    ``default_language`` is the bot's: a member who chose no language, or one the bot
    does not speak, is spoken to in it, so ``lang:`` counts them there.
    """
    return and_(*(_compiled(term, default_language) for term in segment.terms))


def _compiled(term: Term, default_language: str) -> ColumnElement[bool]:
    positive = _positive(term, default_language)
    return not_(positive) if term.negated else positive


def _journey_has(column: str, *values: str) -> ColumnElement[bool]:
    j = _journeys.alias("segment_journey")
    return exists(
        select(literal(1)).where(j.c.member_id == _members.c.id, j.c[column].in_(values))
    ).correlate(_members)


def _positive(term: Term, default_language: str) -> ColumnElement[bool]:
    value = term.value
    if term.kind == "tag":
        t = _tags.alias("segment_tag")
        return exists(
            select(literal(1)).where(t.c.member_id == _members.c.id, t.c.tag == value)
        ).correlate(_members)
    if term.kind == "tier":
        if value == "ordinary":  # no journey yet means no orders: ordinary
            return not_(_journey_has("tier", *(other for other in TIERS if other != value)))
        return _journey_has("tier", value)
    if term.kind == "stage":
        return _journey_has("stage", value)
    language: Any = _members.c.language
    if term.kind == "lang":
        if value == default_language:
            others = [code for code in LANGUAGES if code != value]
            return or_(language.is_(None), language.not_in(others))
        return func.coalesce(language, "") == value
    source: Any = _members.c.source
    if value == NO_SOURCE:
        return or_(source.is_(None), source == value)
    return func.coalesce(source, "") == value
