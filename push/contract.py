"""What flows, campaigns, greetings and broadcasts call to reach a member.

A *proactive* message is anything that is not a direct answer to what the
member just did. It goes through :meth:`PushGate.submit`, which applies
opt-out, caps, the minimum gap, quiet hours and priority arbitration, and
records its decision. Replies never come here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.events import Button
from storage.records import MemberRecord


class Category(StrEnum):
    GREETING = "greeting"
    VALUE = "value"
    OFFER = "offer"
    AFTER_SALES = "after_sales"
    BROADCAST = "broadcast"
    #: order confirmations and service messages: bypass caps, honour the kill switch
    TRANSACTIONAL = "transactional"
    #: a later answer to the member's own action (e.g. a slow lookup): like transactional
    REPLY = "reply"

    @property
    def bypasses_caps(self) -> bool:
        """Not promotional: no caps, gap, quiet hours or opt-out; only the kill switch."""
        return self in (Category.TRANSACTIONAL, Category.REPLY)


class Outcome(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class PushMessage:
    text: str
    #: idempotency key: the same key is delivered to a member at most once
    key: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    campaign_id: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reason: str | None = None
    until: datetime | None = None

    @property
    def sent(self) -> bool:
        return self.outcome is Outcome.SENT


class PushGate(Protocol):
    async def submit(
        self,
        member: MemberRecord,
        message: PushMessage,
        category: Category,
        priority: int = 0,
        expires_at: datetime | None = None,
        park: bool = True,
    ) -> Decision:
        """``park=False``: a deferred message is not kept in the gate's waiting line;
        the caller offers it again itself (flows, whose guards must hold again then)."""
        ...
