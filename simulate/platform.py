"""Another platform's rules in the simulation (``warmline simulate --platform``).

The simulation speaks through the local adapter; with ``--platform wecom`` that
adapter declares WeCom's limits, so the core plays by them: a member's message
opens their kf window (48 h, at most 5 messages), the outbound door takes a
message of it before every send to them, and the push gate defers what the
window would refuse (``platform_window``). The measure then counts, from the
deliveries and the members' own messages alone, every send that fell outside
a window: it must be 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.adapter import Limits, MessageWindow
from bot.adapters.local import LIMITS as LOCAL
from bot.adapters.wecom.limits import LIMITS as WECOM
from bot.push.contract import Category
from bot.services import Services
from insight.tracker import ActivityTracker
from simulate.measure import Measure
from storage.push import DecisionRow
from storage.records import MemberRecord
from storage.windows import WindowLedger

PLATFORMS: dict[str, Limits] = {"local": LOCAL, "wecom": WECOM}


def limits_of(platform: str) -> Limits:
    if platform not in PLATFORMS:
        raise ValueError(f"--platform must be one of {', '.join(PLATFORMS)} (got {platform!r})")
    return PLATFORMS[platform]


@dataclass(slots=True)
class _Window:
    opened_at: float | None = None
    used: int = 0


class WindowWatch:
    """Every send to a member checked against their window, as the member saw it."""

    def __init__(self, rule: MessageWindow | None) -> None:
        self.rule = rule
        self.windows: dict[str, _Window] = {}
        self.outside = 0

    def wrote(self, user_id: str, at: datetime) -> None:
        if self.rule is not None:
            self.windows[user_id] = _Window(at.timestamp())

    def delivered(self, user_id: str, at: datetime) -> None:
        if self.rule is None:
            return
        window = self.windows.setdefault(user_id, _Window())
        span = self.rule.after_member_message.total_seconds()
        limit = self.rule.max_messages
        opened = window.opened_at
        if (
            opened is None
            or at.timestamp() >= opened + span
            or (limit is not None and window.used >= limit)
        ):
            self.outside += 1
            return
        window.used += 1


async def members_wrote(
    services: Services,
    tracker: ActivityTracker | None,
    watch: WindowWatch,
    members: Iterable[MemberRecord],
    now: datetime,
) -> None:
    """Members wrote or pressed a button at ``now``: activity, as the dispatcher would
    note it, and (on a platform with message windows) their windows open, in the bot
    and in the watch."""
    members = list(members)
    if tracker is not None:
        for member in members:
            tracker.note(member, now)
    if watch.rule is None:
        return
    ledger = services.find(WindowLedger)
    opened = []
    for member in members:
        dm = services.adapter.dm(member.user)
        watch.wrote(dm.id, now)
        opened.append((dm.id, now, f"sim:{dm.id}:{now.timestamp()}"))
    if ledger is not None and opened:
        await ledger.opened_many(services.adapter.platform, opened)


#: the categories that bypass caps, by value (asked of every decision)
_TRANSACTIONAL = frozenset(category.value for category in Category if category.bypasses_caps)


class LateTransactional:
    """A decision recorder that tells the measure when a transactional message went
    out on a timer (it had waited for the platform's window): the measure took it
    for a promotional one."""

    def __init__(self, inner: Records, measure: Measure, user_of: dict[int, str]) -> None:
        self._inner = inner
        self._measure = measure
        self._user_of = user_of

    def record(self, row: DecisionRow) -> None:
        if row.outcome == "sent" and row.member_id is not None:
            if row.category in _TRANSACTIONAL and row.member_id in self._user_of:
                self._measure.was_transactional(self._user_of[row.member_id], row.at)
        self._inner.record(row)


class Records(Protocol):
    def record(self, row: DecisionRow) -> None: ...
