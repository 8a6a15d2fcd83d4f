"""Synthetic members with varied behaviour, drawn from one seed.

Personas differ in whether they start the bot, how much they talk and ask,
how they answer offers, whether they buy, and whether they opt out; each
member also gets a time zone, a language and a join day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

#: the simulated calendar starts here (a Monday)
SIM_EPOCH = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    share: float
    #: probability of starting the bot (else they only join the group)
    starts_bot: float
    messages_per_day: float
    questions_per_day: float
    #: probability of pressing "useful" on a value message
    useful: float
    interested: float
    not_now: float
    #: probability that "interested" turns into an order
    buys: float
    happy: float
    #: probability of inviting a friend after a happy purchase
    refers: float
    rebuys: float
    opts_out: float


PERSONAS = (
    Persona("silent", 0.22, 0.55, 0.0, 0.0, 0.02, 0.02, 0.10, 0.3, 0.8, 0.0, 0.2, 0.0),
    Persona("chatty", 0.16, 1.0, 0.9, 0.12, 0.35, 0.30, 0.40, 0.5, 0.85, 0.35, 0.4, 0.0),
    Persona("asker", 0.20, 1.0, 0.25, 0.35, 0.20, 0.35, 0.30, 0.6, 0.8, 0.2, 0.5, 0.0),
    Persona("buyer", 0.14, 1.0, 0.2, 0.15, 0.25, 0.75, 0.10, 0.85, 0.85, 0.3, 0.7, 0.0),
    Persona("decliner", 0.18, 1.0, 0.15, 0.08, 0.10, 0.03, 0.85, 0.3, 0.7, 0.05, 0.1, 0.0),
    Persona("opt-out", 0.10, 1.0, 0.05, 0.03, 0.02, 0.0, 0.30, 0.0, 0.5, 0.0, 0.0, 1.0),
)

TIME_ZONES = (
    ("Asia/Shanghai", 0.45),
    ("Asia/Singapore", 0.1),
    ("Asia/Tokyo", 0.08),
    ("Europe/Berlin", 0.12),
    ("America/New_York", 0.12),
    ("America/Los_Angeles", 0.08),
    ("Australia/Sydney", 0.05),
)


#: where members who open the bot from a deep link (``/start src-<name>``) came from, with
#: the shares; friends come through a referral link (``ref-<code>``) instead, and members
#: who only join the group bring no source (as with a real bot)
CHANNELS = (
    ("douyin_ads", 0.35),
    ("xiaohongshu", 0.25),
    ("packagecard", 0.25),
    ("wechat", 0.15),
)


@dataclass(slots=True)
class SimMember:
    index: int
    user_id: str
    persona: Persona
    time_zone: str
    language: str
    join_hour: int
    referrer_index: int | None = None
    #: hours after joining when the member opts out (None: never)
    opt_out_after: int | None = None
    #: the deep-link source they start the bot with (friends use their referral link)
    channel: str | None = None


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    roll, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][0]


def persona_for(rng: random.Random) -> Persona:
    roll, total = rng.random(), 0.0
    for persona in PERSONAS:
        total += persona.share
        if roll < total:
            return persona
    return PERSONAS[-1]


def make_member(
    rng: random.Random, index: int, join_hour: int, referrer: int | None = None
) -> SimMember:
    """A member arriving around ``join_hour``, moved into their local waking hours
    (people open a bot in the day, not at 3 a.m.)."""
    persona = persona_for(rng)
    zone = _pick(rng, TIME_ZONES)
    language = "zh" if zone in {"Asia/Shanghai", "Asia/Singapore"} and rng.random() < 0.8 else "en"
    opt_out = int(rng.uniform(3, 30) * 24) if rng.random() < persona.opts_out else None
    offset = _offset_hours(zone)
    local = (join_hour + offset) % 24
    if not 9 <= local <= 20:
        join_hour += (rng.randint(9, 20) - local) % 24
    return SimMember(index, f"sim{index}", persona, zone, language, join_hour, referrer, opt_out)


def _offset_hours(zone: str) -> int:
    offset = SIM_EPOCH.astimezone(ZoneInfo(zone)).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 3600)


def population(count: int, days: int, seed: int) -> tuple[random.Random, list[SimMember]]:
    """``count`` members joining over the first 60% of the run, in join order."""
    rng = random.Random(seed)
    window = max(1, int(days * 24 * 0.6))
    hours = [rng.randrange(window) for _ in range(count)]
    members = sorted((make_member(rng, 0, hour) for hour in hours), key=lambda m: m.join_hour)
    # a stream of its own: channels do not shift the draws every behaviour comes from
    channels = random.Random(f"channels-{seed}")
    for index, member in enumerate(members):
        member.index, member.user_id = index, f"sim{index}"
        member.channel = _pick(channels, CHANNELS)
    return rng, members


def member_row(
    person: SimMember, now: datetime, starts: bool, source: str | None, referrer: str | None
) -> dict[str, Any]:
    """The ``members`` row of an arriving member (``source``/``referrer``: what their
    ``/start`` link said; none for a member who only joins the group)."""
    return {
        "platform": "local",
        "user_id": person.user_id,
        "display_name": f"Member {person.index}",
        "username": None,
        "language": person.language,
        "time_zone": person.time_zone,
        "source": source,
        "referrer_code": referrer,
        "joined_at": now,
        "last_seen_at": now,
        "started_bot": starts,
        "opted_out": False,
        "reachable": True,
    }
