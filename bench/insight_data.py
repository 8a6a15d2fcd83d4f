"""A large, plausible history for the insight benchmark and demo reports.

Members come from five sources of different quality, behave in a few ways
(silent, chatty, askers, buyers, decliners, opt-outs), drift away week by
week, get value messages and the odd offer, buy, rebuy and bring friends.
Rows go in with COPY on PostgreSQL and executemany on SQLite, in batches,
so 2,000,000 events load in well under a minute.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncEngine

SOURCES = ("douyin_ads", "wechat_group", "xiaohongshu", "friend_referral", None)
SOURCE_WEIGHTS = (0.34, 0.26, 0.16, 0.12, 0.12)
#: how much each source's members buy (relative)
SOURCE_QUALITY = (0.7, 1.2, 0.9, 1.6, 1.0)
KINDS = ("message", "question", "reply", "button", "opened")
SKUS = ("longjing", "oolong", "puer", "teacup")
PRICES = (128.0, 98.0, 168.0, 59.0)
BATCH = 50_000


@dataclass(frozen=True, slots=True)
class Shape:
    members: int
    events: int
    days: int
    seed: int
    end: datetime


def _rows(shape: Shape) -> Iterator[tuple[str, Sequence[str], list[tuple[Any, ...]]]]:
    rng = np.random.default_rng(shape.seed)
    n = shape.members
    start = shape.end - timedelta(days=shape.days)
    span = shape.days * 86400.0
    # joins grow over time (more members recently)
    joined_s = np.sort(span * np.sqrt(rng.random(n)))
    source_ix = rng.choice(len(SOURCES), size=n, p=SOURCE_WEIGHTS)
    kind = rng.choice(6, size=n, p=(0.33, 0.25, 0.15, 0.15, 0.08, 0.04))  # silent..optout
    age_days = (span - joined_s) / 86400
    quality = np.array(SOURCE_QUALITY)[source_ix]
    trust = np.clip(
        np.select(
            [kind == 0, kind == 1, kind == 2, kind == 3, kind == 4],
            [
                rng.uniform(0, 35, n),
                rng.uniform(30, 85, n),
                rng.uniform(40, 95, n),
                rng.uniform(55, 100, n),
                rng.uniform(20, 60, n),
            ],
            rng.uniform(0, 40, n),
        )
        + np.minimum(age_days, 30) * 0.3,
        0,
        100,
    )
    offered_after = rng.uniform(7, 21, n)
    offered = (trust >= 50) & (age_days >= offered_after)
    buy_p = np.where(kind == 3, 0.85, np.where((kind == 1) | (kind == 2), 0.18, 0.02)) * quality
    buys = offered & (rng.random(n) < np.clip(buy_p, 0, 0.95))
    n_orders = np.where(buys, 1 + rng.poisson(0.9 * quality), 0)
    opted_out = (kind == 5) | (rng.random(n) < 0.03)
    reachable = rng.random(n) > 0.03
    codes = [f"r{i:07d}" for i in range(1, n + 1)]
    referrer = np.full(n, -1)
    friends = np.flatnonzero(np.array(SOURCES, dtype=object)[source_ix] == "friend_referral")
    sharers = np.flatnonzero(n_orders >= 2)
    if len(sharers):
        for f in friends:
            earlier = sharers[sharers < f]
            if len(earlier):
                referrer[f] = earlier[rng.integers(len(earlier))]

    def at(seconds: np.ndarray) -> list[datetime]:
        return [start + timedelta(seconds=float(s)) for s in seconds]

    joins = at(joined_s)
    yield (
        "members",
        (
            "id",
            "platform",
            "user_id",
            "display_name",
            "username",
            "language",
            "time_zone",
            "source",
            "referrer_code",
            "joined_at",
            "last_seen_at",
            "started_bot",
            "opted_out",
            "reachable",
        ),
        [
            (
                i + 1,
                "local",
                f"u{i + 1}",
                f"Member {i + 1}",
                f"member{i + 1}",
                "zh" if i % 3 else "en",
                None,
                SOURCES[source_ix[i]],
                codes[referrer[i]] if referrer[i] >= 0 else None,
                joins[i],
                joins[i],
                True,
                bool(opted_out[i]),
                bool(reachable[i]),
            )
            for i in range(n)
        ],
    )
    acts = np.where(kind == 0, 0, rng.integers(1, 12, n))
    first_offer = [
        joins[i] + timedelta(days=float(offered_after[i])) if offered[i] else None for i in range(n)
    ]
    yield (
        "journeys",
        (
            "member_id",
            "stage",
            "trust",
            "started_at",
            "messages",
            "replies",
            "questions",
            "opened",
            "buttons",
            "purchases",
            "declines",
            "complaints",
            "seen",
            "values_sent",
            "offers_sent",
            "value_since_offer",
            "next_value_at",
            "last_offer_at",
            "offer_cooldown_s",
            "first_offer_at",
            "referral_code",
            "tier",
            "birthday",
            "updated_at",
        ),
        [
            (
                i + 1,
                "after_sales" if n_orders[i] else ("offer" if offered[i] else "value"),
                float(trust[i]),
                joins[i],
                int(acts[i]),
                int(acts[i] // 3),
                int(acts[i] // 4),
                0,
                int(acts[i] // 2),
                int(n_orders[i]),
                int(kind[i] == 4),
                0,
                "[]",
                0,
                int(offered[i]),
                0,
                None,
                first_offer[i],
                0,
                first_offer[i],
                codes[i],
                "core" if n_orders[i] >= 3 else ("active" if n_orders[i] else "ordinary"),
                None,
                joins[i],
            )
            for i in range(n)
        ],
    )
    # orders: first after the offer, then roughly one product cycle apart
    buyer_ix = np.repeat(np.arange(n), n_orders)
    nth = (
        np.concatenate([np.arange(k) for k in n_orders[n_orders > 0]])
        if buyer_ix.size
        else buyer_ix
    )
    order_s = (
        joined_s[buyer_ix]
        + (
            offered_after[buyer_ix]
            + rng.uniform(0, 5, buyer_ix.size)
            + nth * rng.uniform(25, 40, buyer_ix.size)
        )
        * 86400
    )
    keep = order_s < span
    buyer_ix, order_s = buyer_ix[keep], order_s[keep]
    sku_ix = rng.choice(len(SKUS), size=buyer_ix.size, p=(0.35, 0.3, 0.2, 0.15))
    order_at = at(order_s)
    yield (
        "orders",
        ("member_id", "external_id", "sku", "amount", "source", "at"),
        [
            (
                int(buyer_ix[k]) + 1,
                f"o{k}",
                SKUS[sku_ix[k]],
                round(PRICES[sku_ix[k]] * float(rng.uniform(0.8, 1.6)), 2),
                "hook",
                order_at[k],
            )
            for k in range(buyer_ix.size)
        ],
    )
    # member actions (half the events): active members, fading week by week
    budget = shape.events // 2
    weight = np.where(kind == 0, 0.05, np.where(kind == 5, 0.3, 1.0)) * np.sqrt(age_days + 1)
    who = rng.choice(n, size=budget, p=weight / weight.sum())
    delay = np.minimum(rng.exponential(14 * 86400, budget), span - joined_s[who])
    kinds = rng.choice(len(KINDS), size=budget, p=(0.5, 0.15, 0.15, 0.12, 0.08))
    yield from _chunks(
        "interactions",
        ("member_id", "chat_id", "kind", "detail", "at"),
        (
            (
                int(who[k]) + 1,
                None,
                KINDS[kinds[k]],
                "{}",
                start + timedelta(seconds=float(joined_s[who[k]] + delay[k])),
            )
            for k in range(budget)
        ),
    )
    # proactive messages (a quarter of the events), ~15% offers, to reachable members
    sends = shape.events // 4
    targets = np.flatnonzero(reachable & ~opted_out)
    to = rng.choice(targets, size=sends)
    send_s = joined_s[to] + rng.uniform(0, 1, sends) * (span - joined_s[to])
    cats = rng.choice(4, size=sends, p=(0.62, 0.15, 0.13, 0.10))
    names = ("value", "offer", "after_sales", "greeting")
    yield from _chunks(
        "push_sends",
        ("member_id", "key", "category", "counts", "at"),
        (
            (
                int(to[k]) + 1,
                f"m{k}",
                names[cats[k]],
                True,
                start + timedelta(seconds=float(send_s[k])),
            )
            for k in range(sends)
        ),
    )
    # gate decisions (the last quarter): the sends, plus what was held back
    decide = shape.events - budget - sends - int(buyer_ix.size)
    who_d = rng.choice(targets, size=max(0, decide))
    d_s = joined_s[who_d] + rng.uniform(0, 1, who_d.size) * (span - joined_s[who_d])
    outcome = rng.choice(3, size=who_d.size, p=(0.72, 0.18, 0.10))
    reasons = (None, "quiet_hours", "cap_week")
    cats_d = rng.choice(4, size=who_d.size, p=(0.62, 0.15, 0.13, 0.10))
    yield from _chunks(
        "push_decisions",
        (
            "at",
            "member_id",
            "chat_key",
            "message_key",
            "campaign_id",
            "category",
            "priority",
            "outcome",
            "reason",
            "until",
        ),
        (
            (
                start + timedelta(seconds=float(d_s[k])),
                int(who_d[k]) + 1,
                None,
                f"d{k}",
                f"c{k % 7}" if k % 5 == 0 else None,
                names[cats_d[k]],
                0,
                ("sent", "deferred", "dropped")[outcome[k]],
                reasons[outcome[k]] if outcome[k] else None,
                None,
            )
            for k in range(who_d.size)
        ),
    )


def _chunks(
    table: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]
) -> Iterator[tuple[str, Sequence[str], list[tuple[Any, ...]]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield table, columns, batch
            batch = []
    if batch:
        yield table, columns, batch


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


async def load(engine: AsyncEngine, shape: Shape) -> dict[str, int]:
    """Insert the history into an empty, migrated database; returns rows per table."""
    counts: dict[str, int] = {}
    async with engine.begin() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        for table, columns, rows in _rows(shape):
            counts[table] = counts.get(table, 0) + len(rows)
            if engine.dialect.name == "postgresql":
                await driver.copy_records_to_table(table, records=rows, columns=list(columns))
            else:
                marks = ", ".join("?" for _ in columns)
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
                await conn.exec_driver_sql(sql, [tuple(_sqlite_value(v) for v in r) for r in rows])
        if engine.dialect.name == "postgresql":
            await conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('members', 'id'), (SELECT max(id) FROM members))"
            )
            await conn.exec_driver_sql("ANALYZE")
    return counts


def describe(counts: dict[str, int]) -> str:
    events = sum(v for k, v in counts.items() if k not in ("members", "journeys"))
    return f"{counts.get('members', 0):,} members, {events:,} events ({json.dumps(counts)})"
