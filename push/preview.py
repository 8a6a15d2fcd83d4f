"""What the gate would decide for a whole segment, now, without sending: the
numbers an admin sees before confirming a broadcast, and for the deferred ones
when they would come due ("deferred 40 (minimum gap 40)" alone does not say
whether members hear from us in an hour or tomorrow)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from push.backends import BackendUnavailable, GateBackend
from push.contract import Category, Outcome
from push.rules import Reason, Rules, Verdict, precheck
from storage.records import MemberRecord

#: (outcome, reason)
Key = tuple[str, str | None]
#: the earliest and the latest time
Span = tuple[datetime, datetime]


class Plan(Counter[Key]):
    """(outcome, reason) → members, and for deferred ones the span of times at which
    they come due (``due``)."""

    def __init__(self) -> None:
        super().__init__()
        self.due: dict[Key, Span] = {}

    def defer(self, key: Key, until: datetime) -> None:
        self[key] += 1
        first, last = self.due.get(key, (until, until))
        self.due[key] = (min(first, until), max(last, until))

    def merge(self, other: Plan) -> None:
        """Add the plan of another batch of the same audience."""
        self.update(other)
        for key, (first, last) in other.due.items():
            mine = self.due.get(key, (first, last))
            self.due[key] = (min(mine[0], first), max(mine[1], last))


async def plan(
    rules: Rules,
    backend: GateBackend,
    now: datetime,
    members: Sequence[MemberRecord],
    key: str,
    category: Category,
    priority: int = 0,
    expires_at: datetime | None = None,
) -> Plan:
    """(outcome, reason) → how many members; the backend checks caps for all in one call."""
    tally = Plan()
    asked: list[MemberRecord] = []
    quiet: dict[str | None, datetime | None] = {}
    promotional = not category.bypasses_caps
    for member in members:
        early = precheck(member, category, expires_at, now)
        if early is None and promotional:
            zone = member.time_zone
            if zone not in quiet:
                quiet[zone] = rules.quiet_until(now, zone)
            quiet_end = quiet[zone]
            if quiet_end is not None:
                tally.defer((Outcome.DEFERRED.value, Reason.QUIET_HOURS), quiet_end)
                continue
        if early is not None:
            tally[(early.outcome.value, early.reason)] += 1
        else:
            asked.append(member)
    if not asked:
        return tally
    template = rules.ask(asked[0], key, category, priority, now, 0)
    try:
        verdicts = await backend.plan(template, [member.id for member in asked])
    except BackendUnavailable:
        verdicts = [Verdict(Outcome.DEFERRED, Reason.UNAVAILABLE)] * len(asked)
    for member, verdict in zip(asked, verdicts, strict=True):
        if verdict.outcome is Outcome.DEFERRED and verdict.reason != Reason.UNAVAILABLE:
            until = rules.deferred_until(verdict, now, member.time_zone, promotional)
            tally.defer((verdict.outcome.value, verdict.reason), until)
        else:
            tally[(verdict.outcome.value, verdict.reason)] += 1
    return tally
