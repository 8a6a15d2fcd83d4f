"""The journey store's statements that pick due content slots and bump signals, built
once (:mod:`flows.state` runs them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update

from flows.trust import SIGNALS
from storage.flow_tables import Journey
from storage.prepared import Prepared

TABLE = cast(Table, Journey.__table__)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
DUE_SLOTS = (
    select(TABLE.c.member_id)
    .where(TABLE.c.next_value_at <= bindparam("now"), TABLE.c.next_value_at > bindparam("after"))
    .order_by(TABLE.c.next_value_at, TABLE.c.member_id)
    .limit(bindparam("limit"))
    .scalar_subquery()
)
#: the earliest due content slots, leased until ``until`` in the statement that picks them
CLAIM_CADENCE = Prepared(
    update(TABLE)
    .where(
        TABLE.c.member_id.in_(DUE_SLOTS),
        TABLE.c.next_value_at <= bindparam("now"),
        TABLE.c.next_value_at > bindparam("after"),
    )
    .values(next_value_at=bindparam("until"))
    .returning(TABLE.c.member_id)
)
LATE_SLOTS = Prepared(
    select(TABLE.c.member_id, TABLE.c.next_value_at)
    .where(TABLE.c.next_value_at <= bindparam("cutoff"))
    .order_by(TABLE.c.next_value_at, TABLE.c.member_id)
    .limit(bindparam("limit"))
)
#: leased only if still due: a worker that leased it meanwhile moved it past ``cutoff``
LEASE_LATE = Prepared(
    update(TABLE)
    .where(
        TABLE.c.member_id.in_(bindparam("ids", expanding=True)),
        TABLE.c.next_value_at <= bindparam("cutoff"),
    )
    .values(next_value_at=bindparam("until"))
    .returning(TABLE.c.member_id)
)
#: ``signal = signal + n`` per member, one statement per signal
BUMPS = {
    signal: update(TABLE)
    .where(TABLE.c.member_id == bindparam("b_id"))
    .values({signal: TABLE.c[signal] + bindparam("b_n"), "updated_at": bindparam("b_at")})
    for signal in SIGNALS
}
