"""The pace at which work left over from a downtime goes out.

Flow steps, content slots and the gate's waiting messages that fell due while
the bot was down are *backlog* once they are more than ``push.catch_up.late_after``
late. One bucket per worker, shared by the flow engine and the gate, releases
``push.catch_up.per_minute`` of them a minute, so a restart never fires the
whole backlog at once (each member's caps still apply on top).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from bot.services import Services


class CatchUpPace(Protocol):
    """``push.catch_up``, as the push feature's section gives it."""

    @property
    def late_after(self) -> timedelta: ...

    @property
    def per_minute(self) -> int: ...


def shared_catch_up(services: Services, pace: CatchUpPace) -> CatchUp:
    """The worker's one bucket (provided by whichever feature asks first)."""
    found = services.find(CatchUp)
    if found is None:
        found = services.provide(CatchUp(pace))
    return found


class CatchUp:
    """A token bucket of backlog releases: ``per_minute`` tokens a minute, holding at
    most one minute's worth (an hourly tick does not release an hour's worth)."""

    def __init__(self, pace: CatchUpPace) -> None:
        self.late_after = pace.late_after
        self.per_minute = pace.per_minute
        self._tokens = float(self.per_minute)
        self._at: datetime | None = None
        #: backlog flow steps and slots still waiting for a token after the engine's last tick
        self.held = 0

    def cutoff(self, now: datetime) -> datetime:
        """Due at or before this is backlog."""
        return now - self.late_after

    def refill(self, now: datetime) -> None:
        if self._at is not None and now > self._at:
            minutes = (now - self._at).total_seconds() / 60
            self._tokens = min(float(self.per_minute), self._tokens + minutes * self.per_minute)
        self._at = now if self._at is None else max(self._at, now)

    @property
    def left(self) -> int:
        """How many more backlog items may run now (unbounded when pacing is off)."""
        return 1 << 30 if self.per_minute == 0 else int(self._tokens)

    @property
    def spacing(self) -> timedelta:
        """Between two backlog releases (0 when pacing is off)."""
        return timedelta(minutes=1) / self.per_minute if self.per_minute else timedelta(0)

    def take(self, n: int) -> None:
        if self.per_minute:
            self._tokens -= n
