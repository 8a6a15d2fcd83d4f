"""The period a report or a dashboard page looks at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True, slots=True)
class Window:
    """Members who joined in ``[start, end)``, measured as of ``end``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(f"the period is empty: {self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}")

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    @property
    def weeks(self) -> int:
        return max(1, -(-int(self.days) // 7))

    def week_start(self, index: int) -> datetime:
        return self.start + timedelta(weeks=index)

    def label(self) -> str:
        last = self.end - timedelta(seconds=1)
        return f"{self.start:%Y-%m-%d} – {last:%Y-%m-%d}"

    @classmethod
    def from_dates(cls, first: date | None, last: date | None, now: datetime) -> Window:
        """``--from``/``--to`` as inclusive calendar days (UTC); default: the last 90 days."""
        end = (
            datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
            if last is not None
            else now.astimezone(UTC)
        )
        start = (
            datetime.combine(first, time(), tzinfo=UTC)
            if first is not None
            else datetime.combine((end - timedelta(days=90)).date(), time(), tzinfo=UTC)
        )
        return cls(start, end)
