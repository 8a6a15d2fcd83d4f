"""Issue and redeem one-use confirmation codes (once, before expiry, by one admin).

Redeeming is one conditional update, so two workers handling the same
``/confirm`` (or the admin sending it twice) cannot both succeed.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from storage.confirm_tables import ConfirmCode
from storage.database import Database

#: no 0/O or 1/I: codes are read off a screen and typed
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 6


class ConfirmCodes:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def issue(self, action: str, user_id: str, expires_at: datetime) -> str:
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        async with self._db.transaction() as conn:
            await conn.execute(
                insert(ConfirmCode).values(
                    code=code, action=action, user_id=user_id, expires_at=expires_at, used=False
                )
            )
        return code

    async def redeem(self, code: str, user_id: str, now: datetime) -> str | None:
        """The code's action when ``user_id`` may use it now (it is then spent)."""
        code = code.strip().upper()
        c = ConfirmCode.__table__.c
        spend = (
            update(ConfirmCode)
            .where(c.code == code, c.user_id == user_id, c.used.is_(False), c.expires_at > now)
            .values(used=True)
        )
        async with self._db.transaction() as conn:
            if not (await conn.execute(spend)).rowcount:
                return None
            action: str = (await conn.execute(select(c.action).where(c.code == code))).scalar_one()
            return action

    async def prune(self, now: datetime) -> int:
        async with self._db.transaction() as conn:
            result = await conn.execute(delete(ConfirmCode).where(ConfirmCode.expires_at < now))
        return int(result.rowcount or 0)
