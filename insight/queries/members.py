"""Member search, one member's timeline, the push log and handoffs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.i18n.money import money
from insight.loop import interactions, journeys, members, orders, source_of
from insight.queries.respect import decisions
from storage.amounts import counted_amount
from storage.flow_tables import MemberTag
from storage.segment_filter import SegmentFilter, condition

tags = MemberTag.__table__

#: interaction kind recorded when a conversation is handed to a human
HANDOFF_KIND = "handoff"
#: interactions that are a handoff: recorded ones, and questions the knowledge base passed on
HANDOFF_KINDS = (HANDOFF_KIND, "question_abstained")
#: the tag the after-sales flow puts on an unhappy buyer when it alerts the admins
CARE_TAG = "needs-care"


@dataclass(frozen=True, slots=True)
class MemberHit:
    id: int
    name: str
    username: str | None
    source: str
    tier: str | None
    trust: float | None
    joined_at: datetime
    opted_out: bool
    reachable: bool


@dataclass(frozen=True, slots=True)
class SearchQuery:
    #: part of a name or @username, or a platform user id
    text: str = ""
    #: a segment filter (``tag:vip !tier:ordinary``), as /segment and /broadcast read it
    filter: SegmentFilter | None = None

    @property
    def empty(self) -> bool:
        return not (self.text or self.filter)


def _hit_columns() -> Select[Any]:
    """One row per member as a search hit shows it: identity, source, tier, trust."""
    return select(
        members.c.id,
        members.c.display_name,
        members.c.username,
        source_of().label("source"),
        journeys.c.tier,
        journeys.c.trust,
        members.c.joined_at,
        members.c.opted_out,
        members.c.reachable,
    ).select_from(members.outerjoin(journeys, journeys.c.member_id == members.c.id))


async def search_members(
    conn: AsyncConnection, query: SearchQuery, limit: int = 50, default_language: str = "en"
) -> list[MemberHit]:
    """Members matching the name text and the filter, newest first; ``default_language``
    is the bot's, which ``lang:`` counts members who chose none in."""
    stmt = _hit_columns().order_by(members.c.joined_at.desc(), members.c.id.desc()).limit(limit)
    if query.text:
        pattern = f"%{_escape(query.text.lower())}%"
        stmt = stmt.where(
            or_(
                func.lower(members.c.display_name).like(pattern, escape="\\"),
                func.lower(members.c.username).like(pattern, escape="\\"),
                members.c.user_id == query.text,
            )
        )
    if query.filter is not None:
        stmt = stmt.where(condition(query.filter, default_language))
    return [
        MemberHit(
            r.id,
            r.display_name,
            r.username,
            r.source,
            r.tier,
            r.trust,
            r.joined_at,
            r.opted_out,
            r.reachable,
        )
        for r in await conn.execute(stmt)
    ]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    kind: str
    summary: str
    outcome: str | None = None


@dataclass(slots=True)
class MemberDetail:
    member: MemberHit
    tags: list[str]
    timeline: list[TimelineEntry] = field(default_factory=list)
    orders: int = 0
    revenue: float = 0.0


async def member_detail(
    conn: AsyncConnection, member_id: int, limit: int = 200, currency: str | None = None
) -> MemberDetail | None:
    """The member, and their last ``limit`` messages, gate decisions and orders, newest first."""
    hits = await conn.execute(_hit_columns().where(members.c.id == member_id))
    row = hits.first()
    if row is None:
        return None
    detail = MemberDetail(
        MemberHit(*row),
        tags=list(
            await conn.scalars(
                select(tags.c.tag).where(tags.c.member_id == member_id).order_by(tags.c.tag)
            )
        ),
    )
    entries: list[TimelineEntry] = []
    for r in await conn.execute(
        select(interactions.c.at, interactions.c.kind, interactions.c.detail)
        .where(interactions.c.member_id == member_id)
        .order_by(interactions.c.at.desc())
        .limit(limit)
    ):
        entries.append(TimelineEntry(r.at, r.kind, _summary(r.detail)))
    for d in await conn.execute(
        select(
            decisions.c.at,
            decisions.c.category,
            decisions.c.outcome,
            decisions.c.reason,
            decisions.c.message_key,
            decisions.c.until,
            decisions.c.text,
        )
        .where(decisions.c.member_id == member_id)
        .order_by(decisions.c.at.desc())
        .limit(limit)
    ):
        why = f" ({d.reason})" if d.reason else ""
        if d.outcome == "deferred" and d.until is not None:
            why += f", until {d.until:%Y-%m-%d %H:%M} UTC"
        said = message_text(d.text, d.message_key)
        entries.append(TimelineEntry(d.at, f"push · {d.category}", f"{said}{why}", d.outcome))
    for o in await conn.execute(
        select(orders.c.at, orders.c.sku, orders.c.amount)
        .where(orders.c.member_id == member_id)
        .order_by(orders.c.at.desc())
        .limit(limit)
    ):
        amount = money(o.amount, currency) if currency else f"{o.amount:,.2f}"
        entries.append(TimelineEntry(o.at, "order", f"{o.sku} · {amount}"))
    totals = (
        await conn.execute(
            select(func.count(), func.coalesce(func.sum(counted_amount(orders.c.amount)), 0)).where(
                orders.c.member_id == member_id
            )
        )
    ).one()
    detail.orders, detail.revenue = int(totals[0]), float(totals[1])
    detail.timeline = sorted(entries, key=lambda e: e.at, reverse=True)[:limit]
    return detail


def _summary(detail: Any) -> str:
    if not isinstance(detail, dict) or not detail:
        return ""
    for key in ("text", "question", "summary", "reason", "action", "payload"):
        if detail.get(key):
            return str(detail[key])[:160]
    return ", ".join(f"{k}={v}" for k, v in list(detail.items())[:4] if v is not None)[:160]


def message_text(text: str | None, key: str) -> str:
    """What a pushed message said; decisions recorded before the log kept text name
    the flow and step their key comes from (``after_sales.v1:2:o1515:care_tips``)."""
    if text:
        first = text.strip().splitlines()[0] if text.strip() else ""
        return first[:SUMMARY] + ("…" if len(first) > SUMMARY or "\n" in text.strip() else "")
    flow, _, rest = key.partition(":")
    step = rest.rsplit(":", 1)[-1] if rest else ""
    name = flow.split(".", 1)[0].replace("_", " ")
    return f"{name}: {step.replace('_', ' ')}" if step else name


#: characters of a message shown in the timeline and the push log
SUMMARY = 160


@dataclass(frozen=True, slots=True)
class PushLogEntry:
    at: datetime
    member_id: int | None
    member: str | None
    category: str
    campaign: str | None
    outcome: str
    reason: str | None
    message: str
    #: a deferred message waits until then (UTC)
    until: datetime | None = None


async def push_log(
    conn: AsyncConnection, limit: int = 200, outcome: str = ""
) -> list[PushLogEntry]:
    stmt = (
        select(
            decisions.c.at,
            decisions.c.member_id,
            members.c.display_name,
            decisions.c.category,
            decisions.c.campaign_id,
            decisions.c.outcome,
            decisions.c.reason,
            decisions.c.until,
            decisions.c.text,
            decisions.c.message_key,
        )
        .select_from(decisions.outerjoin(members, members.c.id == decisions.c.member_id))
        .order_by(decisions.c.at.desc(), decisions.c.id.desc())
        .limit(limit)
    )
    if outcome:
        stmt = stmt.where(decisions.c.outcome == outcome)
    return [
        PushLogEntry(*row[:7], message=message_text(row.text, row.message_key), until=row.until)
        for row in await conn.execute(stmt)
    ]


@dataclass(frozen=True, slots=True)
class Handoff:
    at: datetime
    member_id: int | None
    member: str | None
    reason: str


async def handoffs(conn: AsyncConnection, limit: int = 200) -> list[Handoff]:
    """Questions the knowledge base handed to a person, recorded handoffs, and
    members the after-sales flow tagged ``needs-care`` (unhappy after a purchase)."""
    asked = (
        select(
            interactions.c.at,
            interactions.c.member_id,
            members.c.display_name,
            interactions.c.kind,
            interactions.c.detail,
        )
        .select_from(interactions.outerjoin(members, members.c.id == interactions.c.member_id))
        .where(interactions.c.kind.in_(HANDOFF_KINDS))
        .order_by(interactions.c.at.desc())
        .limit(limit)
    )
    found = [
        Handoff(r.at, r.member_id, r.display_name, _handoff_reason(r.kind, r.detail))
        for r in await conn.execute(asked)
    ]
    cared = (
        select(tags.c.at, tags.c.member_id, members.c.display_name)
        .select_from(tags.join(members, members.c.id == tags.c.member_id))
        .where(tags.c.tag == CARE_TAG)
        .order_by(tags.c.at.desc())
        .limit(limit)
    )
    found += [
        Handoff(r.at, r.member_id, r.display_name, "unhappy after a purchase (tagged needs-care)")
        for r in await conn.execute(cared)
    ]
    return sorted(found, key=lambda h: h.at, reverse=True)[:limit]


def _handoff_reason(kind: str, detail: Any) -> str:
    summary = _summary(detail)
    if kind == "question_abstained":
        return f"question the knowledge base could not answer: {summary}"
    return summary
