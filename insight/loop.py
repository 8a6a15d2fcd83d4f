"""The stored facts each figure is computed from, named once.

Members, their actions (``interactions``), journeys (trust, offers, referral
codes) and orders come from the foundation and flows tables; a referral is a
member whose ``referrer_code`` is another member's journey ``referral_code``.
The funnel and the source figures read these facts per member from the loop
rollup (:mod:`storage.member_loop`), which holds first and second order times,
revenue and friends to date; :func:`late_orders` and :func:`late_friends` take
back what happened after a period's end.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, bindparam, case, cast, func, literal, select
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.selectable import Subquery

from insight.window import Window
from storage.amounts import counted_amount
from storage.flow_tables import Journey, Order
from storage.insight_tables import MemberLoop
from storage.member_loop import engaged as journey_engaged
from storage.tables import Interaction, Member

#: interaction kinds that are something the member did themselves (``/start``, a question
#: answered or not, opting back in); messages and button presses are noted by
#: :class:`insight.tracker.ActivityTracker` as they are dispatched
MEMBER_ACTIONS = ("start", "question_answered", "question_abstained", "opt_in", "message", "button")

#: a member without a recorded source
NO_SOURCE = "direct"

members = Member.__table__
interactions = Interaction.__table__
journeys = Journey.__table__
orders = Order.__table__
#: one row per member: source, join, journey, first orders, revenue and friends to date
member_loop = MemberLoop.__table__


def source_of(table: Any = members) -> ColumnElement[str]:
    return func.coalesce(table.c.source, cast(literal(NO_SOURCE), String))


def joined_in(window: Window, table: Any = members) -> ColumnElement[bool]:
    """Joined within the window. The bounds are written into the SQL text: as bound
    parameters, PostgreSQL's generic plan for a prepared statement (used from its sixth
    run on) guesses that a range keeps 0.5% of the members and picks nested loops that
    take several times longer when the window holds most of them."""
    return and_(
        table.c.joined_at >= _moment("joined_from", window.start, table.c.joined_at),
        table.c.joined_at < _moment("joined_before", window.end, table.c.joined_at),
    )


def _moment(name: str, value: datetime, column: Any) -> BindParameter[datetime]:
    """A window bound compared with ``column``, rendered into the SQL text (see
    :func:`joined_in`)."""
    return bindparam(name, value, type_=column.type, unique=True, literal_execute=True)


def ordered_before_end(window: Window) -> ColumnElement[bool]:
    """Orders placed before the window's end (the bound in the SQL text, see :func:`joined_in`)."""
    return orders.c.at < _moment("orders_before", window.end, orders.c.at)


def order_totals(window: Window) -> Subquery:
    """Orders and revenue per member, up to the end of the window."""
    return (
        select(
            orders.c.member_id,
            func.count().label("orders"),
            func.sum(counted_amount(orders.c.amount)).label("revenue"),
        )
        .where(ordered_before_end(window))
        .group_by(orders.c.member_id)
        .subquery("order_totals")
    )


def late_orders(window: Window) -> Subquery:
    """Members with orders at or after the window's end (``member_id``), and their
    revenue before it (``revenue``, NULL when none): the rollup's revenue counts to
    date. Empty for a window that ends now."""
    later = select(orders.c.member_id).where(
        orders.c.at >= _moment("late_orders_from", window.end, orders.c.at)
    )
    return (
        select(
            orders.c.member_id,
            func.sum(case((ordered_before_end(window), counted_amount(orders.c.amount)))).label(
                "revenue"
            ),
        )
        .where(orders.c.member_id.in_(later))
        .group_by(orders.c.member_id)
        .subquery("late_orders")
    )


def late_friends(window: Window) -> Subquery:
    """Friends who joined at or after the window's end, per referrer (``member_id``,
    ``friends``): the rollup counts friends to date. Empty for a window that ends now."""
    return (
        select(journeys.c.member_id, func.count().label("friends"))
        .select_from(members.join(journeys, journeys.c.referral_code == members.c.referrer_code))
        .where(
            members.c.referrer_code.is_not(None),
            members.c.joined_at >= _moment("late_friends_from", window.end, members.c.joined_at),
        )
        .group_by(journeys.c.member_id)
        .subquery("late_friends")
    )


def engaged() -> ColumnElement[bool]:
    """The member did something themselves (journeys; defined in :mod:`storage.member_loop`)."""
    return journey_engaged(journeys)


def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 when the condition holds; summed to count members."""
    return case((condition, 1), else_=0)
