"""The trust score: a weighted sum of what a member did, clamped to 0–100.

    trust = min(days, max_days)·per_day + min(messages, max_messages)·message
          + replies·reply + questions·question + opened·opened + buttons·button
          + purchases·purchase + declines·decline + complaints·complaint

Weights live in ``flows.trust``; declines and complaints carry negative weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flows.config import TrustWeights

#: signals a member can produce, each a counter column of ``journeys``
SIGNALS = (
    "messages",
    "replies",
    "questions",
    "opened",
    "buttons",
    "purchases",
    "declines",
    "complaints",
)


@dataclass(frozen=True, slots=True)
class Signals:
    days: float = 0.0
    messages: int = 0
    replies: int = 0
    questions: int = 0
    opened: int = 0
    buttons: int = 0
    purchases: int = 0
    declines: int = 0
    complaints: int = 0


def days_between(start: datetime, now: datetime) -> float:
    return max(0.0, (now - start).total_seconds() / 86400)


def trust_score(signals: Signals, weights: TrustWeights) -> float:
    return weighted_score(
        weights,
        signals.days,
        signals.messages,
        signals.replies,
        signals.questions,
        signals.opened,
        signals.buttons,
        signals.purchases,
        signals.declines,
        signals.complaints,
    )


def weighted_score(
    weights: TrustWeights,
    days: float,
    messages: int,
    replies: int,
    questions: int,
    opened: int,
    buttons: int,
    purchases: int,
    declines: int,
    complaints: int,
) -> float:
    """:func:`trust_score` of the signals given one by one (every content slot asks:
    no :class:`Signals` is built for it)."""
    score = (
        min(days, weights.max_days) * weights.per_day
        + min(messages, weights.max_messages) * weights.message
        + replies * weights.reply
        + questions * weights.question
        + opened * weights.opened
        + buttons * weights.button
        + purchases * weights.purchase
        + declines * weights.decline
        + complaints * weights.complaint
    )
    return round(max(0.0, min(100.0, score)), 2)
