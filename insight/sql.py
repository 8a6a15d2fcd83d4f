"""Portable SQL pieces: the same expression compiles for SQLite and PostgreSQL.

Weeks and day offsets are computed as whole numbers from epoch seconds, so
grouping never depends on a dialect's calendar functions or week start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, Integer, cast, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

WEEK = 7 * 86400
DAY = 86400


class epoch(FunctionElement[float]):
    """Seconds since 1970 of a UTC timestamp column."""

    type = Float()
    inherit_cache = True
    name = "epoch"


@compiles(epoch, "postgresql")
def _epoch_pg(element: epoch, compiler: Any, **kw: Any) -> str:
    # date_part gives double precision; EXTRACT gives numeric, several times slower to compute
    return f"date_part('epoch', {compiler.process(element.clauses, **kw)})"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: Any, **kw: Any) -> str:
    # UtcDateTime stores naive UTC text on SQLite; julianday reads it as UTC
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


def seconds(moment: datetime) -> float:
    return moment.astimezone(UTC).timestamp()


def bucket(column: Any, origin: datetime, size: int) -> ColumnElement[int]:
    """Whole ``size``-second periods from ``origin`` to ``column`` (≥ 0 when column ≥ origin)."""
    return cast(func.floor((epoch(column) - seconds(origin)) / float(size)), Integer)


def offset(later: Any, earlier: Any, size: int) -> ColumnElement[int]:
    """Whole ``size``-second periods between two timestamp columns."""
    return cast(func.floor((epoch(later) - epoch(earlier)) / float(size)), Integer)


def within(
    later: Any, earlier: Any, limit_seconds: float | ColumnElement[float]
) -> ColumnElement[bool]:
    return (epoch(later) - epoch(earlier)) < limit_seconds


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator
