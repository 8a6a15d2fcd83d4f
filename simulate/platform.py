"""Another platform's rules in the simulation (``warmline simulate --platform``).

The simulation speaks through the local adapter; with ``--platform wecom`` that
adapter declares WeCom's limits, so the core plays by them: a member's message
opens their kf window (48 h, at most 5 messages), the outbound door takes a
message of it before every send to them, and the push gate defers what the
window would refuse (``platform_window``). The measure then counts, from the
deliveries and the members' own messages alone, every send that fell outside
a window: it must be 0.

With ``--batch-pushes`` the adapter also has WeCom's mass sends and batches what
the window refuses (``bot.wecom.batch_pushes``): a simulated staff member
confirms every task at once, each customer in it gets the message, and the
measure counts mass messages beyond ``bot.wecom.mass_send_limit`` (it must be 0:
keeping the limit is the bot's job, the simulated platform delivers anything).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Protocol

from bot.adapter import Limits, MassLimit, MessageWindow
from bot.adapters.local import LIMITS as LOCAL
from bot.adapters.local import LocalAdapter
from bot.adapters.local_platform import local_config
from bot.adapters.wecom.config import WeComConfig, clock_time
from bot.adapters.wecom.limits import LIMITS as WECOM
from bot.config.model import WarmlineConfig
from bot.events import ChatRef
from bot.services import Services
from insight.tracker import ActivityTracker
from push.batch import WindowBatch
from push.contract import Category
from push.store import DecisionRow
from simulate.measure import OFFER_PREFIX, VALUE_PREFIX, Measure
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


class MassWatch:
    """Every mass message a member received, against the platform's per-member limit
    (the simulated platform delivers whatever a task holds: keeping the limit is the
    bot's job, and ``over`` counts where it did not)."""

    def __init__(self, limit: MassLimit) -> None:
        self.limit = limit
        self.received: dict[str, list[float]] = {}
        self.sent = 0
        self.over = 0

    def delivered(self, user_id: str, at: datetime) -> None:
        now = at.timestamp()
        since = now - self.limit.period.total_seconds()
        got = [t for t in self.received.get(user_id, ()) if t > since]
        if len(got) >= self.limit.count:
            self.over += 1
        self.received[user_id] = [*got, now]
        self.sent += 1


class MassStaffAdapter(LocalAdapter):
    """The local adapter with WeCom's mass sends (``--batch-pushes``): the staff
    member confirms every task at once and each customer in it gets the message
    (told to the measure by :meth:`SimPlatform.hour`, not as a kf message)."""

    def __init__(self, config: WarmlineConfig, limits: Limits, limit: MassLimit) -> None:
        super().__init__(local_config(config).bot_username, config.bot.admins, limits)
        wecom = config.bot.platform_section("wecom", WeComConfig) or WeComConfig()
        self.mass_limit = limit
        self._at = clock_time(wecom.batch_at)
        self.tasks: dict[str, list[str]] = {}

    @property
    def push_batch_at(self) -> time:
        return self._at

    async def mass_send(self, batch: str, chats: list[ChatRef], text: str) -> list[ChatRef]:
        self.tasks.setdefault(batch, [chat.id for chat in chats])
        return []

    async def mass_outcomes(self, batch: str) -> dict[str, str]:
        return dict.fromkeys(self.tasks.get(batch, ()), "sent")


#: what the measure takes a mass message for, by its key (it has no buttons to tell)
KINDS = {"value:": VALUE_PREFIX, "offer:": OFFER_PREFIX}


class SimPlatform:
    """The platform a simulation plays by: its adapter, the watches over what members
    received, and what its scheduler jobs would do each hour."""

    def __init__(self, config: WarmlineConfig, name: str, batch_pushes: bool) -> None:
        limits = limits_of(name)
        if batch_pushes and name != "wecom":
            raise ValueError("--batch-pushes needs --platform wecom")
        self.name = name
        self.mass: MassWatch | None = None
        self.staff: MassStaffAdapter | None = None
        self.adapter = LocalAdapter(local_config(config).bot_username, config.bot.admins, limits)
        if batch_pushes:
            wecom = config.bot.platform_section("wecom", WeComConfig) or WeComConfig()
            limit = MassLimit(wecom.mass_send_limit.count, wecom.mass_send_limit.period)
            self.mass = MassWatch(limit)
            self.staff = self.adapter = MassStaffAdapter(config, limits, limit)
        self.windows = WindowWatch(limits.window)

    async def hour(self, services: Services, measure: Measure, now: datetime) -> None:
        """The day's batch when due, what its tasks delivered, and reading them back
        (the simulation runs no scheduler)."""
        batch = services.find(WindowBatch)
        if batch is None or self.mass is None or self.staff is None:
            return
        before = set(self.staff.tasks)
        if await batch.run(now):
            made = {name: set(chats) for name, chats in self.staff.tasks.items()}
            items = [i for i in await batch.store.waiting() if i.task not in before]
            members = await services.members.get_many(sorted({i.member_id for i in items}))
            for item in items:
                user_id = services.adapter.dm(members[item.member_id].user).id
                if user_id not in made.get(item.task or "", ()):
                    continue
                self.mass.delivered(user_id, now)
                kind = next((d for k, d in KINDS.items() if item.key.startswith(k)), None)
                phase = "transactional" if Category(item.category).bypasses_caps else "tick"
                measure.delivered(user_id, now, phase, kind)
        await batch.follow(now)

    def summary(self) -> dict[str, Any]:
        mass = self.mass
        return {
            "platform": self.name,
            "sends_outside_platform_window": self.windows.outside,
            "batch_pushes": mass is not None,
            "mass_sends": mass.sent if mass is not None else 0,
            "mass_sends_over_limit": mass.over if mass is not None else 0,
        }
