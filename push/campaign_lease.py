"""Which worker sends a running campaign, and the per-member "sending" claim.

A campaign is sent by the worker holding its lease; the holder renews it on a
heartbeat, and any worker may take over a running campaign whose lease has
run out (its sender died). Before a member's message goes to the platform,
its outbox row is switched ``pending``/``deferred`` → ``sending`` in one
conditional update that also checks the lease: a worker that lost the lease
(frozen, cut off) can no longer start a send the new holder also makes, and a
row found in ``sending`` after a crash is never sent again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import and_, exists, or_, select, update

from storage.database import Database
from storage.push_tables import PushCampaign, PushOutbox

#: outbox states a send may start from
SENDABLE = ("pending", "deferred")


class CampaignLeases:
    def __init__(self, db: Database, owner: str) -> None:
        self._db = db
        #: this worker's name in ``lease_owner`` (host, pid and a random part)
        self.owner = owner

    async def claim(self, campaign_id: str, now: datetime, ttl: timedelta) -> bool:
        """Take (or extend) the lease of a running campaign; False while another
        worker's lease is still valid or the campaign is not running."""
        c = PushCampaign.__table__.c
        stmt = (
            update(PushCampaign)
            .where(
                c.id == campaign_id,
                c.status == "running",
                or_(c.lease_owner.is_(None), c.lease_owner == self.owner, c.lease_until < now),
            )
            .values(lease_owner=self.owner, lease_until=now + ttl)
        )
        async with self._db.transaction() as conn:
            return bool((await conn.execute(stmt)).rowcount)

    async def confirm(self, campaign_id: str, now: datetime, ttl: timedelta) -> bool:
        """Draft → running with our lease, in one update; False when not a draft."""
        c = PushCampaign.__table__.c
        stmt = (
            update(PushCampaign)
            .where(c.id == campaign_id, c.status == "draft")
            .values(status="running", lease_owner=self.owner, lease_until=now + ttl)
        )
        async with self._db.transaction() as conn:
            return bool((await conn.execute(stmt)).rowcount)

    async def renew(self, campaign_id: str, now: datetime, ttl: timedelta) -> bool:
        """Extend our lease; False when another worker holds it now (we lost it)."""
        c = PushCampaign.__table__.c
        stmt = (
            update(PushCampaign)
            .where(c.id == campaign_id, c.lease_owner == self.owner)
            .values(lease_until=now + ttl)
        )
        async with self._db.transaction() as conn:
            return bool((await conn.execute(stmt)).rowcount)

    async def release(self, campaign_id: str) -> None:
        c = PushCampaign.__table__.c
        stmt = (
            update(PushCampaign)
            .where(c.id == campaign_id, c.lease_owner == self.owner)
            .values(lease_owner=None, lease_until=None)
        )
        async with self._db.transaction() as conn:
            await conn.execute(stmt)

    async def orphaned(self, now: datetime) -> list[str]:
        """Running campaigns nobody holds a valid lease on (never claimed, or the
        holder stopped renewing)."""
        c = PushCampaign.__table__.c
        stmt = (
            select(c.id)
            .where(c.status == "running", or_(c.lease_owner.is_(None), c.lease_until < now))
            .order_by(c.created_at)
        )
        async with self._db.reading() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def start_sending(self, campaign_id: str, member_id: int, fenced: bool) -> bool:
        """``pending``/``deferred`` → ``sending`` just before the platform call; False
        when the row is in another state or (``fenced``) we no longer hold the lease."""
        o = PushOutbox.__table__.c
        conditions = [
            o.campaign_id == campaign_id,
            o.member_id == member_id,
            o.state.in_(SENDABLE),
        ]
        if fenced:
            c = PushCampaign.__table__.c
            conditions.append(
                exists().where(and_(c.id == campaign_id, c.lease_owner == self.owner))
            )
        stmt = update(PushOutbox).where(*conditions).values(state="sending")
        async with self._db.transaction() as conn:
            return bool((await conn.execute(stmt)).rowcount)

    def claimer(
        self, campaign_id: str, member_id: int, fenced: bool
    ) -> Callable[[], Awaitable[bool]]:
        """:meth:`start_sending` for one member, to be called right before sending: a
        row marked ``sending`` is never sent again, so the window a kill can lose it
        in is one HTTP request, not the wait for a pacing slot."""
        return partial(self.start_sending, campaign_id, member_id, fenced)

    async def reserved_unsent(self, campaign_id: str | None, member_id: int) -> bool:
        """A campaign message the gate calls a duplicate although its outbox row never
        reached ``sending``: a worker died between reserving and sending."""
        if campaign_id is None:
            return False
        return await self.state(campaign_id, member_id) in SENDABLE

    async def state(self, campaign_id: str, member_id: int) -> str | None:
        o = PushOutbox.__table__.c
        stmt = select(o.state).where(o.campaign_id == campaign_id, o.member_id == member_id)
        async with self._db.reading() as conn:
            return (await conn.execute(stmt)).scalar_one_or_none()

    async def settle_interrupted(self, campaign_id: str, now: datetime) -> int:
        """Rows a dead worker left in ``sending``: the platform may have delivered
        them, so they are not sent again; they end ``unconfirmed``."""
        o = PushOutbox.__table__.c
        stmt = (
            update(PushOutbox)
            .where(o.campaign_id == campaign_id, o.state == "sending")
            .values(state="unconfirmed", reason="interrupted", updated_at=now)
        )
        async with self._db.transaction() as conn:
            return int((await conn.execute(stmt)).rowcount)
