"""Which period a report or a dashboard page shows when none is asked for, and what
to say when the asked one holds no data.

A database that holds only older data (a kept simulation, a bot paused for a season)
would otherwise open on an empty "last 90 days" with nothing to tell why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from insight.loop import members
from insight.window import Window


@dataclass(frozen=True, slots=True)
class DataSpan:
    """The first and the last join in the database."""

    first: datetime
    last: datetime

    @property
    def first_day(self) -> date:
        return self.first.astimezone(UTC).date()

    @property
    def last_day(self) -> date:
        return self.last.astimezone(UTC).date()

    def label(self) -> str:
        return f"{self.first_day:%Y-%m-%d} – {self.last_day:%Y-%m-%d}"


async def data_span(conn: AsyncConnection) -> DataSpan | None:
    row = (
        await conn.execute(select(func.min(members.c.joined_at), func.max(members.c.joined_at)))
    ).one()
    if row[0] is None or row[1] is None:
        return None
    return DataSpan(row[0], row[1])


async def joined_in_window(conn: AsyncConnection, window: Window) -> int:
    return int(
        await conn.scalar(
            select(func.count()).where(
                members.c.joined_at >= window.start, members.c.joined_at < window.end
            )
        )
        or 0
    )


def default_window(span: DataSpan | None, now: datetime) -> Window:
    """The last 90 days; when every member joined before them, the data's own days
    (first to last join) instead."""
    recent = Window.from_dates(None, None, now)
    if span is None or span.last >= recent.start:
        return recent
    return Window.from_dates(span.first_day, span.last_day, now)


@dataclass(frozen=True, slots=True)
class EmptyPeriod:
    """Nobody joined in the period: where the data is, if anywhere."""

    window: Window
    span: DataSpan | None

    def message(self) -> str:
        said = f"No member joined in {self.window.label()}."
        if self.span is None:
            return f"{said} The database holds no members yet."
        return f"{said} The data runs from {self.span.label()}."

    def suggestion(self) -> tuple[date, date] | None:
        """The period that holds the data (``--from``/``--to``)."""
        if self.span is None:
            return None
        return self.span.first_day, self.span.last_day


async def empty_period(conn: AsyncConnection, window: Window) -> EmptyPeriod | None:
    """None when members joined in the window."""
    if await joined_in_window(conn, window):
        return None
    return EmptyPeriod(window, await data_span(conn))
