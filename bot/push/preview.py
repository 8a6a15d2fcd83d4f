"""What the gate would decide for a whole segment, now, without sending: the
numbers an admin sees before confirming a broadcast."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from bot.push.backends import BackendUnavailable, GateBackend
from bot.push.contract import Category, Outcome
from bot.push.rules import Reason, Rules, Verdict, precheck
from storage.records import MemberRecord


async def plan(
    rules: Rules,
    backend: GateBackend,
    now: datetime,
    members: Sequence[MemberRecord],
    key: str,
    category: Category,
    priority: int = 0,
    expires_at: datetime | None = None,
) -> Counter[tuple[str, str | None]]:
    """(outcome, reason) → how many members; the backend checks caps for all in one call."""
    tally: Counter[tuple[str, str | None]] = Counter()
    member_ids: list[int] = []
    quiet: dict[str | None, datetime | None] = {}
    for member in members:
        early = precheck(member, category, expires_at, now)
        if early is None and not category.bypasses_caps:
            zone = member.time_zone
            if zone not in quiet:
                quiet[zone] = rules.quiet_until(now, zone)
            if quiet[zone] is not None:
                early = Verdict(Outcome.DEFERRED, Reason.QUIET_HOURS)
        if early is not None:
            tally[(early.outcome.value, early.reason)] += 1
        else:
            member_ids.append(member.id)
    if member_ids:
        template = rules.ask(members[0], key, category, priority, now, 0)
        try:
            verdicts = await backend.plan(template, member_ids)
        except BackendUnavailable:
            verdicts = [Verdict(Outcome.DEFERRED, Reason.UNAVAILABLE)] * len(member_ids)
        for verdict in verdicts:
            tally[(verdict.outcome.value, verdict.reason)] += 1
    return tally
