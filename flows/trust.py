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
    score = (
        min(signals.days, weights.max_days) * weights.per_day
        + min(signals.messages, weights.max_messages) * weights.message
        + signals.replies * weights.reply
        + signals.questions * weights.question
        + signals.opened * weights.opened
        + signals.buttons * weights.button
        + signals.purchases * weights.purchase
        + signals.declines * weights.decline
        + signals.complaints * weights.complaint
    )
    return round(max(0.0, min(100.0, score)), 2)
