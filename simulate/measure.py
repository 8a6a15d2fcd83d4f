"""What the simulated members actually received, counted from the adapter's sends.

Nothing here asks the gate what it decided: caps, quiet hours, opt-outs and
offer eligibility are re-checked against the real deliveries, with the
member-side facts (join time, time zone, opt-out time, what they did) that
only the simulation knows. The funnel, referral and source figures are not
counted here: :mod:`simulate.history` measures them on the simulated
history with the report's and the dashboard's own queries.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flows.config import FlowsConfig
from flows.trust import SIGNALS, Signals, trust_score
from push.config import PushConfig

DAY = 86400.0
WEEK = 7 * DAY

#: button-data prefixes that identify what a delivered message was
VALUE_PREFIX = "jy:value_content:deliver:"
OFFER_PREFIX = "jy:soft_offer:offer:"
SATISFACTION_PREFIX = "jy:after_sales:check:"


@dataclass(slots=True)
class MemberFacts:
    joined_at: datetime
    zone: ZoneInfo
    opted_out_at: datetime | None = None
    signals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SIGNALS, 0))
    sends: list[float] = field(default_factory=list)  # promotional deliveries (epoch s)
    values_since_offer: int = 0
    offers: int = 0
    first_offer_at: datetime | None = None
    orders: int = 0


class QuietWindow:
    def __init__(self, spec: str | None) -> None:
        self.window: tuple[time, time] | None = None
        if spec:
            first, second = spec.split("-")
            self.window = (time.fromisoformat(first), time.fromisoformat(second))
        #: the answers for one moment by zone (a tick's deliveries share their moment)
        self._at: datetime | None = None
        self._by_zone: dict[ZoneInfo, bool] = {}

    def contains(self, moment: datetime, zone: ZoneInfo) -> bool:
        if self.window is None:
            return False
        if moment != self._at:
            self._at, self._by_zone = moment, {}
        found = self._by_zone.get(zone)
        if found is None:
            found = self._by_zone[zone] = self._contains(moment, zone)
        return found

    def _contains(self, moment: datetime, zone: ZoneInfo) -> bool:
        assert self.window is not None
        start, end = self.window
        clock = moment.astimezone(zone).time()
        if start < end:
            return start <= clock < end
        return clock >= start or clock < end


class Measure:
    def __init__(self, flows: FlowsConfig, push: PushConfig) -> None:
        self.flows = flows
        self.push = push
        self.quiet = QuietWindow(push.quiet_hours)
        self.members: dict[str, MemberFacts] = {}
        self.proactive = 0
        self.replies = 0
        self.transactional = 0
        self.offers = 0
        self.values = 0
        self.offers_before_eligible = 0
        self.quiet_hour_sends = 0
        self.sends_after_optout = 0
        self.orders = 0
        self.repurchases = 0
        self.referrals = 0
        #: the last promotional delivery per member: (epoch s, quiet, after opt-out)
        self._last: dict[str, tuple[float, bool, bool]] = {}

    # -- facts from the member side ----------------------------------------------
    def joined(self, user_id: str, at: datetime, zone: str) -> None:
        self.members[user_id] = MemberFacts(at, ZoneInfo(zone))

    def acted(self, user_id: str, signal: str, at: datetime, n: int = 1) -> None:
        facts = self.members[user_id]
        if signal in facts.signals:
            facts.signals[signal] += n

    def opted_out(self, user_id: str, at: datetime) -> None:
        self.members[user_id].opted_out_at = at

    def ordered(self, user_id: str, at: datetime, referral_paid: bool) -> None:
        facts = self.members[user_id]
        facts.orders += 1
        facts.signals["purchases"] += 1
        self.orders += 1
        self.repurchases += facts.orders > 1
        self.referrals += referral_paid

    def trust(self, facts: MemberFacts, at: datetime) -> float:
        days = max(0.0, (at - facts.joined_at).total_seconds() / DAY)
        return trust_score(Signals(days, **facts.signals), self.flows.trust)

    # -- deliveries ------------------------------------------------------------------
    def delivered(self, user_id: str, at: datetime, phase: str, data: str | None) -> None:
        """One message the adapter actually sent to a member's DM."""
        facts = self.members.get(user_id)
        if facts is None:
            return
        if phase == "reply":
            self.replies += 1
            return
        if phase == "transactional":
            self.transactional += 1
            self.proactive += 1
            return
        self.proactive += 1
        stamp = at.timestamp()
        facts.sends.append(stamp)
        quiet = self.quiet.contains(at, facts.zone)
        after_optout = facts.opted_out_at is not None and at >= facts.opted_out_at
        self.quiet_hour_sends += quiet
        self.sends_after_optout += after_optout
        self._last[user_id] = (stamp, quiet, after_optout)
        if data and data.startswith(VALUE_PREFIX):
            self.values += 1
            facts.values_since_offer += 1
        elif data and data.startswith(OFFER_PREFIX):
            self._offer(facts, at)

    def was_transactional(self, user_id: str, at: datetime) -> None:
        """The gate says the message just delivered to ``user_id`` was transactional
        (an order message that waited for the platform's window): it was counted as
        promotional, since it went out on a timer; count it as what it is."""
        last = self._last.pop(user_id, None)
        facts = self.members.get(user_id)
        if last is None or facts is None or last[0] != at.timestamp() or not facts.sends:
            return
        facts.sends.pop()
        self.transactional += 1
        self.quiet_hour_sends -= last[1]
        self.sends_after_optout -= last[2]

    def _offer(self, facts: MemberFacts, at: datetime) -> None:
        rules = self.flows.offer
        eligible = (
            self.trust(facts, at) >= rules.min_trust
            and at - facts.joined_at >= timedelta(days=rules.min_days)
            and facts.values_since_offer >= rules.value_per_offer
            and (facts.opted_out_at is None or at < facts.opted_out_at)
        )
        self.offers_before_eligible += not eligible
        self.offers += 1
        facts.offers += 1
        facts.values_since_offer = 0
        facts.first_offer_at = facts.first_offer_at or at

    # -- results ------------------------------------------------------------------------
    def figures(self, start: datetime, days: int) -> dict[str, Any]:
        """What the members received, for the simulation's JSON (in its order)."""
        return {
            "members": len(self.members),
            "messages_proactive": self.proactive,
            "messages_reply": self.replies,
            "messages_value": self.values,
            "messages_transactional": self.transactional,
            "offers": self.offers,
            "offers_share": round(self.offers / self.proactive, 4) if self.proactive else 0.0,
            "offers_before_eligible": self.offers_before_eligible,
            "cap_breaches": self.cap_breaches(),
            "quiet_hour_sends": self.quiet_hour_sends,
            "sends_after_optout": self.sends_after_optout,
            "orders": self.orders,
            "repurchases": self.repurchases,
            "referral_rewards": self.referrals,
            "caps": {"per_day": self.push.caps.per_day, "per_week": self.push.caps.per_week},
            "weekly_messages": self.weekly_counts(start, days),
            "days_to_first_offer": self.days_to_first_offer(),
        }

    def cap_breaches(self) -> int:
        caps = self.push.caps
        breaches = 0
        for facts in self.members.values():
            times = facts.sends
            for cap, window in ((caps.per_day, DAY), (caps.per_week, WEEK)):
                if cap is None:
                    continue
                for index, moment in enumerate(times):
                    # sends in the rolling window (moment - window, moment]
                    if index + 1 - bisect_left(times, moment - window + 1e-6) > cap:
                        breaches += 1
        return breaches

    def weekly_counts(self, start: datetime, days: int) -> list[int]:
        """Promotional messages per member per week, one entry per (member, full week)."""
        weeks = max(1, days // 7)
        counts: list[int] = []
        origin = start.timestamp()
        for facts in self.members.values():
            per_week: defaultdict[int, int] = defaultdict(int)
            for moment in facts.sends:
                per_week[int((moment - origin) // WEEK)] += 1
            first = int((facts.joined_at.timestamp() - origin) // WEEK) + 1
            counts.extend(per_week.get(week, 0) for week in range(first, weeks))
        return counts

    def days_to_first_offer(self) -> list[float]:
        return sorted(
            round((facts.first_offer_at - facts.joined_at).total_seconds() / DAY, 2)
            for facts in self.members.values()
            if facts.first_offer_at is not None
        )
