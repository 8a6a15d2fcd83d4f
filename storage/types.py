"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        #: the value last written and its text: a batch's rows share their time stamp
        last: tuple[datetime | None, str] = (None, "")

        def process(value: datetime | None) -> str | None:
            # SQLite's DATETIME storage format, written in one C call instead of the
            # dialect's dict formatting: every timer, decision and journey passes here,
            # so process_bind_param's checks are inlined (a UTC value needs no conversion)
            nonlocal last
            if value is None:
                return None
            seen, text = last
            if value is seen:  # the same (immutable) object: the same text
                return text
            given, zone = value, value.tzinfo
            if zone is not UTC:
                if zone is None:
                    raise ValueError("naive datetime given to a UTC column")
                value = value.astimezone(UTC)
            # "YYYY-MM-DD HH:MM:SS.ffffff" is always 26 characters; the zone's suffix is cut
            text = value.isoformat(" ", "microseconds")[:26]
            last = (given, text)
            return text

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
