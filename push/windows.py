"""The gate's view of the platform's message window: defer what it would refuse."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.services import Services
from push.contract import Outcome
from push.rules import Reason, Verdict
from storage.records import MemberRecord
from storage.windows import Window, WindowLedger

#: a message deferred for a closed window is looked at again after this (the
#: window opens only when the member writes, which the gate cannot foresee)
RECHECK = timedelta(hours=1)


async def window_verdict(services: Services, member: MemberRecord, now: datetime) -> Verdict | None:
    """``platform_window`` when the member's window is closed or used up, else None."""
    rule = services.adapter.limits.window
    if rule is None:
        return None
    ledger = services.find(WindowLedger)
    if ledger is None:
        return None
    dm = services.adapter.dm(member.user)
    state = await ledger.state(dm.platform, dm.id)
    window = Window.of(rule.after_member_message, rule.max_messages)
    if state is not None and state.allows(window, now):
        return None
    return Verdict(Outcome.DEFERRED, Reason.PLATFORM_WINDOW, (now + RECHECK).timestamp())
