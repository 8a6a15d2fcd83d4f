"""Dashboard sign-ins and one-time login links, kept in the database so
every worker honours them and a restart signs nobody out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from insight.passwords import new_token, token_hash
from storage.insight_tables import DashboardSession, LoginLink

sessions = cast(Table, DashboardSession.__table__)
links = cast(Table, LoginLink.__table__)


@dataclass(frozen=True, slots=True)
class Session:
    username: str
    csrf_token: str
    expires_at: datetime


class SessionStore:
    def __init__(self, engine: AsyncEngine, clock: Clock, ttl: timedelta, link_ttl: timedelta):
        self.engine = engine
        self.clock = clock
        self.ttl = ttl
        self.link_ttl = link_ttl

    async def create(self, username: str) -> tuple[str, Session]:
        """A new session; returns the cookie token (only its hash is stored)."""
        token, now = new_token(), self.clock.now()
        session = Session(username, new_token(), now + self.ttl)
        async with self.engine.begin() as conn:
            await conn.execute(sessions.delete().where(sessions.c.expires_at <= now))
            await conn.execute(
                sessions.insert().values(
                    token_hash=token_hash(token),
                    username=username,
                    csrf_token=session.csrf_token,
                    created_at=now,
                    expires_at=session.expires_at,
                )
            )
        return token, session

    async def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(sessions).where(
                        sessions.c.token_hash == token_hash(token),
                        sessions.c.expires_at > self.clock.now(),
                    )
                )
            ).first()
        return Session(row.username, row.csrf_token, row.expires_at) if row else None

    async def end(self, token: str | None) -> None:
        if token:
            async with self.engine.begin() as conn:
                await conn.execute(
                    sessions.delete().where(sessions.c.token_hash == token_hash(token))
                )

    async def create_link(self, username: str) -> str:
        token = new_token()
        async with self.engine.begin() as conn:
            await conn.execute(
                links.insert().values(
                    token_hash=token_hash(token),
                    username=username,
                    expires_at=self.clock.now() + self.link_ttl,
                    used_at=None,
                )
            )
        return token

    async def redeem_link(self, token: str) -> str | None:
        """The link's user if it is unused and fresh; it cannot be used again."""
        now = self.clock.now()
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(links.c.username).where(
                        links.c.token_hash == token_hash(token),
                        links.c.used_at.is_(None),
                        links.c.expires_at > now,
                    )
                )
            ).first()
            if row is None:
                return None
            claimed = await conn.execute(
                update(links)
                .where(links.c.token_hash == token_hash(token), links.c.used_at.is_(None))
                .values(used_at=now)
            )
            return str(row.username) if claimed.rowcount == 1 else None
