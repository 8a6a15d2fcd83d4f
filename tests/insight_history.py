"""A small hand-built history whose every figure is worked out by hand in
tests/test_insight_metrics.py (day numbers count from the window's start)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from flows.trust import SIGNALS
from insight.window import Window
from storage.flow_tables import Journey, MemberTag, Order
from storage.push_tables import PushDecision, PushOutbox, PushSend
from storage.tables import Interaction, Member

START = datetime(2026, 1, 5, tzinfo=UTC)
END = datetime(2026, 5, 5, tzinfo=UTC)  # 120 days
WINDOW = Window(START, END)


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def _member(
    mid: int, name: str, source: str | None, joined: datetime, **extra: Any
) -> dict[str, Any]:
    return {
        "id": mid,
        "platform": "local",
        "user_id": name.lower(),
        "display_name": name,
        "username": name.lower(),
        "language": "en",
        "time_zone": None,
        "source": source,
        "referrer_code": extra.get("referrer_code"),
        "joined_at": joined,
        "last_seen_at": joined,
        "started_bot": True,
        "opted_out": extra.get("opted_out", False),
        "reachable": extra.get("reachable", True),
    }


def _journey(
    mid: int, trust: float, code: str, offer: datetime | None, tier: str = "ordinary", **acts: int
) -> dict[str, Any]:
    counters = dict.fromkeys(SIGNALS, 0)
    return {
        "member_id": mid,
        "stage": "value",
        "trust": trust,
        "started_at": START,
        **counters,
        **acts,
        "seen": [],
        "values_sent": 0,
        "offers_sent": int(offer is not None),
        "value_since_offer": 0,
        "next_value_at": None,
        "last_offer_at": offer,
        "first_offer_at": offer,
        "offer_cooldown_s": 0,
        "referral_code": code,
        "tier": tier,
        "birthday": None,
        "updated_at": START,
    }


MEMBERS = [
    _member(1, "Alice", "ads", day(0)),
    _member(2, "Bob", "ads", day(1), opted_out=True),
    _member(3, "Chen", "group", day(8), referrer_code="A1"),
    _member(4, "Dana", None, day(27)),
    _member(5, "Eve", "group", END + timedelta(days=27), referrer_code="D1"),  # after the window
    _member(6, "Finn", "ads", START - timedelta(days=16)),  # before the window
]
JOURNEYS = [
    _journey(1, 70, "A1", day(10), messages=2),
    _journey(2, 40, "B1", None, questions=1),
    _journey(3, 10, "C1", None),
    _journey(4, 55, "D1", day(35), tier="core", buttons=1),
]


def _act(mid: int, kind: str, at: datetime, **detail: Any) -> dict[str, Any]:
    return {"member_id": mid, "chat_id": None, "kind": kind, "detail": detail, "at": at}


INTERACTIONS = [
    _act(1, "message", day(1), text="hello"),
    _act(1, "message", day(8), text="which tea for mornings?"),
    _act(1, "start", day(0)),
    _act(2, "question", day(3), question="is it organic?"),
    _act(2, "opt_out", day(22)),
    _act(3, "start", day(8)),
    _act(4, "button", day(27)),
    _act(4, "handoff", day(40), reason="unhappy with delivery"),
]
ORDERS = [
    {
        "member_id": 1,
        "external_id": "o1",
        "sku": "tea",
        "amount": 100.0,
        "source": "hook",
        "at": day(12),
    },
    {
        "member_id": 1,
        "external_id": "o2",
        "sku": "tea",
        "amount": 60.0,
        "source": "hook",
        "at": day(50),
    },
    {
        "member_id": 3,
        "external_id": "o3",
        "sku": "cup",
        "amount": 30.0,
        "source": "admin",
        "at": day(108),
    },
    {
        "member_id": 4,
        "external_id": "o4",
        "sku": "tea",
        "amount": 20.0,
        "source": "hook",
        "at": day(36),
    },
    {
        "member_id": 4,
        "external_id": "o5",
        "sku": "cup",
        "amount": 20.0,
        "source": "hook",
        "at": day(47),
    },
    {
        "member_id": 4,
        "external_id": "o6",
        "sku": "cup",
        "amount": 20.0,
        "source": "hook",
        "at": day(62),
    },
    {
        "member_id": 6,
        "external_id": "o7",
        "sku": "tea",
        "amount": 999.0,
        "source": "hook",
        "at": day(5),
    },
]


def _send(mid: int, key: str, category: str, at: datetime) -> dict[str, Any]:
    return {"member_id": mid, "key": key, "category": category, "counts": True, "at": at}


SENDS = [
    _send(1, "v1", "value", day(1)),
    _send(1, "v2", "value", day(3)),
    _send(1, "o1", "offer", day(10)),
    _send(1, "v3", "value", day(12)),
    _send(1, "t1", "transactional", day(12)),
    _send(2, "v1", "value", day(2)),
    _send(2, "v2", "value", day(4)),
    _send(2, "v3", "value", day(5)),
    _send(4, "v1", "value", day(30)),
    _send(4, "o1", "offer", day(35)),
]


def _decision(
    mid: int, category: str, outcome: str, reason: str | None, at: datetime
) -> dict[str, Any]:
    return {
        "at": at,
        "member_id": mid,
        "chat_key": None,
        "message_key": f"{category}-{mid}",
        "campaign_id": None,
        "category": category,
        "priority": 0,
        "outcome": outcome,
        "reason": reason,
        "until": None,
    }


DECISIONS = [
    _decision(1, "offer", "deferred", "quiet_hours", day(9)),
    _decision(2, "value", "dropped", "cap_week", day(6)),
    _decision(2, "value", "dropped", "cap_week", day(6.5)),
    _decision(1, "value", "sent", None, day(1)),
]
OUTBOX = [
    {"campaign_id": "c1", "member_id": 1, "state": "sent", "reason": None, "updated_at": day(20)},
    {"campaign_id": "c1", "member_id": 2, "state": "sent", "reason": None, "updated_at": day(20)},
    {"campaign_id": "c1", "member_id": 3, "state": "pending", "reason": None, "updated_at": None},
]
TAGS = [
    {"member_id": 1, "tag": "vip", "at": day(2)},
    {"member_id": 3, "tag": "needs-care", "at": day(110)},
]


async def build_history(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for model, rows in (
            (Member, MEMBERS),
            (Journey, JOURNEYS),
            (Interaction, INTERACTIONS),
            (Order, ORDERS),
            (PushSend, SENDS),
            (PushDecision, DECISIONS),
            (PushOutbox, OUTBOX),
            (MemberTag, TAGS),
        ):
            await conn.execute(model.__table__.insert(), rows)  # type: ignore[attr-defined]
