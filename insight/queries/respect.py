"""Are members pushed too much? Load per member per week, offers share,
opt-outs after campaigns, and what the gate capped, deferred or dropped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from insight.loop import flag, interactions
from insight.queries.push_rollup import (
    day_of,
    gate_days,
    push_load,
    week_of,
    week_start,
)
from insight.sql import DAY, epoch, ratio
from insight.window import Window
from storage.push_tables import PushDecision, PushOutbox, PushSend

sends = PushSend.__table__
decisions = PushDecision.__table__
outbox = PushOutbox.__table__

#: interaction kind recorded when a member opts out (/stop)
OPT_OUT_KIND = "opt_out"


@dataclass(frozen=True, slots=True)
class WeekLoad:
    #: Monday 00:00 UTC the week starts
    start: datetime
    messages: int
    offers: int
    members: int
    max_per_member: int
    over_cap: int

    @property
    def per_member(self) -> float | None:
        return ratio(self.messages, self.members)

    @property
    def offers_share(self) -> float | None:
        return ratio(self.offers, self.messages)


async def weekly_load(conn: AsyncConnection, window: Window, cap: int | None) -> list[WeekLoad]:
    """Per calendar week touching the window: proactive messages, offers, members
    reached, the most one member got, members over the cap (from the rollup;
    refresh it first with :func:`insight.queries.push_rollup.refresh_push`)."""
    load = push_load.c
    over = case((load.messages > cap, load.members), else_=0) if cap is not None else literal(0)
    rows = await conn.execute(
        select(
            load.week,
            func.sum(load.messages * load.members).label("messages"),
            func.sum(load.offers).label("offers"),
            func.sum(load.members).label("members"),
            func.max(load.messages).label("most"),
            func.sum(over).label("over_cap"),
        )
        .where(
            load.week >= week_of(window.start),
            load.week <= week_of(window.end - timedelta(microseconds=1)),
        )
        .group_by(load.week)
        .order_by(load.week)
    )
    return [
        WeekLoad(
            week_start(int(row.week)),
            int(row.messages),
            int(row.offers or 0),
            int(row.members),
            int(row.most),
            int(row.over_cap or 0),
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class GateCount:
    category: str
    outcome: str
    reason: str
    count: int


async def gate_outcomes(conn: AsyncConnection, window: Window) -> list[GateCount]:
    """Decisions on the UTC days of the window (from the rollup, refreshed first)."""
    g = gate_days.c
    total = func.sum(g.decisions)
    rows = await conn.execute(
        select(g.category, g.outcome, g.reason, total.label("n"))
        .where(
            g.day >= day_of(window.start), g.day <= day_of(window.end - timedelta(microseconds=1))
        )
        .group_by(g.category, g.outcome, g.reason)
        .order_by(total.desc(), g.category, g.outcome, g.reason)
    )
    return [GateCount(r.category, r.outcome, r.reason, int(r.n)) for r in rows]


@dataclass(frozen=True, slots=True)
class CampaignOptOuts:
    campaign_id: str
    recipients: int
    opted_out: int

    @property
    def rate(self) -> float | None:
        return ratio(self.opted_out, self.recipients)


async def optouts_after_campaigns(conn: AsyncConnection, window: Window) -> list[CampaignOptOuts]:
    """Recipients who opted out within 7 days after a campaign reached them."""
    opted = (
        select(func.count())
        .where(
            interactions.c.member_id == outbox.c.member_id,
            interactions.c.kind == OPT_OUT_KIND,
            interactions.c.at >= outbox.c.updated_at,
            epoch(interactions.c.at) - epoch(outbox.c.updated_at) < 7 * DAY,
        )
        .scalar_subquery()
    )
    rows = await conn.execute(
        select(
            outbox.c.campaign_id,
            func.count().label("recipients"),
            func.sum(flag(opted > 0)).label("opted_out"),
        )
        .where(
            outbox.c.state == "sent",
            and_(outbox.c.updated_at >= window.start, outbox.c.updated_at < window.end),
        )
        .group_by(outbox.c.campaign_id)
        .order_by(outbox.c.campaign_id)
    )
    return [CampaignOptOuts(r.campaign_id, int(r.recipients), int(r.opted_out or 0)) for r in rows]


async def outbox_depth(conn: AsyncConnection) -> int:
    """Messages still to go out: outbox rows not yet sent or dropped, plus deferred pushes."""
    waiting = await conn.scalar(
        select(func.count()).select_from(outbox).where(outbox.c.state.in_(("pending", "deferred")))
    )
    return int(waiting or 0)
