"""The gate's rules as plain data and one pure decision function.

:func:`decide` is the reference semantics: the memory and SQL backends call it
on a member's state inside their per-member lock, and the Redis Lua script
(``admit.lua``) mirrors it line for line; the contract tests hold them equal.
Times are epoch seconds (floats) so the arithmetic is the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot.zones import member_zone
from push.config import PushConfig
from push.contract import Category, Outcome
from storage.records import MemberRecord

DAY = 86400.0
WEEK = 7 * DAY


class Reason:
    """Why a message was deferred or dropped (stored in ``push_decisions.reason``)."""

    PAUSED = "paused"
    DUPLICATE = "duplicate"
    QUEUED = "queued"
    DAILY_CAP = "daily_cap"
    WEEKLY_CAP = "weekly_cap"
    CATEGORY_DAILY_CAP = "category_daily_cap"
    CATEGORY_WEEKLY_CAP = "category_weekly_cap"
    MIN_GAP = "min_gap"
    DISABLED = "disabled"
    QUIET_HOURS = "quiet_hours"
    OPTED_OUT = "opted_out"
    EXPIRED = "expired"
    UNAVAILABLE = "unavailable"
    UNREACHABLE = "unreachable"
    FAILED = "failed"
    RETRY = "retry"
    GROUP_CAP = "group_cap"
    #: due long ago (the bot was down): no longer makes sense (``flows.lateness``, ``push.lateness``)
    STALE = "stale"
    #: the member's complaint is still open (a person is on it): promotions wait
    NEEDS_CARE = "needs_care"
    #: the platform lets the bot write only for a while after the member wrote
    #: (``limits.window``, e.g. WeCom kf: 5 messages within 48 h), and that is over
    PLATFORM_WINDOW = "platform_window"
    #: the platform's own cap on what one member receives (WeCom: one mass message a day)
    PLATFORM_CAP = "platform_cap"


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps for one category; ``None`` = no cap, ``0`` = category disabled."""

    day: int | None
    week: int | None
    category_day: int | None
    category_week: int | None
    gap: float


class Ask(NamedTuple):
    """One message a backend is asked about (a tuple: one is made for every push)."""

    member_id: int
    key: str
    category: str
    priority: int
    #: first submission time (epoch ms): equal priorities are served first come, first served
    seq: int
    now: float
    bypass: bool
    limits: Limits


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reason: str | None = None
    until: float | None = None

    @property
    def sent(self) -> bool:
        return self.outcome is Outcome.SENT


@dataclass(frozen=True, slots=True)
class Waiting:
    key: str
    due: float
    priority: int
    seq: int


@dataclass(slots=True)
class MemberState:
    """What the backend knows about one member, loaded under its lock."""

    #: counting sends of the last 7 days, oldest first: (time, category)
    sends: list[tuple[float, str]] = field(default_factory=list)
    has_key: bool = False
    waiting: list[Waiting] = field(default_factory=list)


def decide(state: MemberState, ask: Ask, paused: bool) -> Verdict:
    """Kill switch, duplicate key, waiting line, caps and gap — in that order."""
    if paused:
        return Verdict(Outcome.DEFERRED, Reason.PAUSED)
    if state.has_key:
        return Verdict(Outcome.DROPPED, Reason.DUPLICATE)
    if ask.bypass:
        return Verdict(Outcome.SENT)
    now = ask.now
    for other in state.waiting:
        if other.key != ask.key and other.due <= now and _ahead(other, ask):
            return Verdict(Outcome.DEFERRED, Reason.QUEUED, now)
    week = [t for t, _ in state.sends if t > now - WEEK]
    day = [t for t in week if t > now - DAY]
    cat_week = [t for t, c in state.sends if c == ask.category and t > now - WEEK]
    cat_day = [t for t in cat_week if t > now - DAY]
    limits = ask.limits
    until, reason = now, None
    for times, cap, window, name in (
        (day, limits.day, DAY, Reason.DAILY_CAP),
        (week, limits.week, WEEK, Reason.WEEKLY_CAP),
        (cat_day, limits.category_day, DAY, Reason.CATEGORY_DAILY_CAP),
        (cat_week, limits.category_week, WEEK, Reason.CATEGORY_WEEKLY_CAP),
    ):
        if cap is None or len(times) < cap:
            continue
        if cap == 0:
            return Verdict(Outcome.DROPPED, Reason.DISABLED)
        free = times[len(times) - cap] + window
        if free > until:
            until, reason = free, name
    if limits.gap > 0 and week and week[-1] + limits.gap > until:
        until, reason = week[-1] + limits.gap, Reason.MIN_GAP
    if reason is not None:
        return Verdict(Outcome.DEFERRED, reason, until)
    return Verdict(Outcome.SENT)


def _ahead(other: Waiting, ask: Ask) -> bool:
    return other.priority > ask.priority or (other.priority == ask.priority and other.seq < ask.seq)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window in local time; it may wrap midnight (``22:00-08:00``)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str | None) -> QuietHours | None:
        if not text:
            return None
        first, second = text.split("-")
        start, end = time.fromisoformat(first), time.fromisoformat(second)
        return None if start == end else cls(start, end)

    def ends_at(self, moment: datetime, zone: ZoneInfo) -> datetime | None:
        """When the window around ``moment`` ends (aware), or None outside it."""
        local = moment.astimezone(zone)
        clock = local.time().replace(tzinfo=None)
        if self.start < self.end:
            inside = self.start <= clock < self.end
            end_day = local.date()
        else:
            inside = clock >= self.start or clock < self.end
            end_day = local.date() + timedelta(days=1) if clock >= self.start else local.date()
        if not inside:
            return None
        return datetime.combine(end_day, self.end, tzinfo=zone)


class Rules:
    """``push:`` config resolved once into what the gate checks."""

    def __init__(self, config: PushConfig) -> None:
        self.config = config
        self.quiet = QuietHours.parse(config.quiet_hours)
        self._limits = {category: self._resolve(category) for category in Category}
        #: what an ask repeats for a category: its value, whether it bypasses caps, limits
        self._asks = {
            category: (category.value, category.bypasses_caps, self._limits[category])
            for category in Category
        }
        #: the quiet-hours ends of one moment by zone (a tick asks for every member at
        #: the same moment, in a few zones)
        self._quiet_at: datetime | None = None
        self._quiet_ends: dict[ZoneInfo, datetime | None] = {}

    def _resolve(self, category: Category) -> Limits:
        per_category = self.config.categories.get(category.value)
        return Limits(
            day=self.config.caps.per_day,
            week=self.config.caps.per_week,
            category_day=per_category.per_day if per_category else None,
            category_week=per_category.per_week if per_category else None,
            gap=self.config.min_gap.total_seconds(),
        )

    def limits(self, category: Category) -> Limits:
        return self._limits[category]

    def zone(self, name: str | None) -> ZoneInfo:
        return member_zone(name, self.config.timezone)

    def quiet_until(self, moment: datetime, zone_name: str | None) -> datetime | None:
        if self.quiet is None:
            return None
        zone = self.zone(zone_name)
        if moment != self._quiet_at or moment.tzinfo is not self._quiet_at.tzinfo:
            self._quiet_at, self._quiet_ends = moment, {}
        ends = self._quiet_ends
        if zone not in ends:
            ends[zone] = self.quiet.ends_at(moment, zone)
        return ends[zone]

    def deferred_until(
        self, verdict: Verdict, now: datetime, zone_name: str | None, promotional: bool
    ) -> datetime:
        """When a message a backend deferred comes due again: the kill switch is looked
        at again after ``pause_recheck``; a promotional message never comes due in quiet
        hours."""
        if verdict.reason == Reason.PAUSED:
            until = now + self.config.pause_recheck
        else:
            until = datetime.fromtimestamp(verdict.until or now.timestamp(), now.tzinfo)
        if promotional:
            until = self.quiet_until(until, zone_name) or until
        return until

    def ask(
        self,
        member: MemberRecord,
        key: str,
        category: Category,
        priority: int,
        now: datetime,
        seq: int,
    ) -> Ask:
        """What a backend is asked for one message (``seq`` 0: ordered by ``now``)."""
        value, bypass, limits = self._asks[category]
        at = now.timestamp()
        return Ask(member.id, key, value, priority, seq or int(at * 1000), at, bypass, limits)


def precheck(
    member: MemberRecord, category: Category, expires_at: datetime | None, now: datetime
) -> Verdict | None:
    """The checks that need no backend: unreachable, opted out, expired."""
    if not member.reachable:
        return Verdict(Outcome.DROPPED, Reason.UNREACHABLE)
    if member.opted_out and not category.bypasses_caps:
        return Verdict(Outcome.DROPPED, Reason.OPTED_OUT)
    if expires_at is not None and expires_at <= now:
        return Verdict(Outcome.DROPPED, Reason.EXPIRED)
    return None
