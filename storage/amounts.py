"""Which stored order amounts count in a sum.

The order webhook bounds amounts (``flows.orders.max_amount``, at most 1e12), but
rows stored before it did, or written by hand, may hold absurd ones: two of 1e308
overflow every sum they are part of (PostgreSQL refuses it, SQLite gives infinity,
which JSON cannot carry). Sums go through :func:`counted_amount`, which leaves out
anything beyond the largest amount the webhook could ever accept; the pages that
show sums warn how many orders were left out (:func:`uncounted_orders`).
"""

from __future__ import annotations

from sqlalchemy import Table, case, func, literal, not_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from storage.flow_tables import Order

#: the largest ``flows.orders.max_amount`` allows: beyond it a stored amount was never a sale
AMOUNT_LIMIT = 1e12

_ORDERS: Table = Order.__table__  # type: ignore[assignment]


def _sane(amount: ColumnElement[float]) -> ColumnElement[bool]:
    return amount.between(-AMOUNT_LIMIT, AMOUNT_LIMIT)


def counted_amount(amount: ColumnElement[float]) -> ColumnElement[float]:
    """``amount`` where it is within bounds, else 0 (NaN is never within them)."""
    return case((_sane(amount), amount), else_=literal(0.0))


async def uncounted_orders(conn: AsyncConnection) -> int:
    """How many stored orders :func:`counted_amount` leaves out."""
    amount = _ORDERS.c.amount
    stmt = select(func.count()).where(amount.is_not(None), not_(_sane(amount)))
    return int(await conn.scalar(stmt) or 0)
