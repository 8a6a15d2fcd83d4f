"""Captcha challenges and scheduled deletions: the work the moderation sweeper does.

Claims that several workers could race for (an expired captcha, a due
deletion) are made atomic with ``UPDATE … RETURNING`` / ``DELETE … RETURNING``,
so each is acted on once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from storage.database import Database
from storage.members import insert_for
from storage.moderation_tables import CaptchaChallenge, ScheduledDeletion


@dataclass(frozen=True, slots=True)
class Challenge:
    id: int
    platform: str
    chat_id: str
    member_id: int
    user_id: str
    kind: str
    answer: str
    attempts_left: int
    prompt_chat_id: str | None
    prompt_message_id: str | None
    expires_at: datetime


def _challenge(row: CaptchaChallenge) -> Challenge:
    return Challenge(
        id=row.id,
        platform=row.platform,
        chat_id=row.chat_id,
        member_id=row.member_id,
        user_id=row.user_id,
        kind=row.kind,
        answer=row.answer,
        attempts_left=row.attempts_left,
        prompt_chat_id=row.prompt_chat_id,
        prompt_message_id=row.prompt_message_id,
        expires_at=row.expires_at,
    )


class CaptchaStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def open_challenge(
        self,
        *,
        platform: str,
        chat_id: str,
        member_id: int,
        user_id: str,
        kind: str,
        answer: str,
        attempts: int,
        at: datetime,
        expires_at: datetime,
    ) -> int:
        """Start (or restart, on a re-join) the member's challenge in this group."""
        values = {
            "platform": platform,
            "chat_id": chat_id,
            "member_id": member_id,
            "user_id": user_id,
            "kind": kind,
            "answer": answer,
            "attempts_left": attempts,
            "prompt_chat_id": None,
            "prompt_message_id": None,
            "status": "pending",
            "created_at": at,
            "expires_at": expires_at,
        }
        stmt = insert_for(self._db.dialect, CaptchaChallenge).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[
                CaptchaChallenge.platform,
                CaptchaChallenge.chat_id,
                CaptchaChallenge.member_id,
            ],
            set_={key: stmt.excluded[key] for key in values if key not in {"platform", "chat_id"}},
        ).returning(CaptchaChallenge.id)
        async with self._db.session() as session, session.begin():
            return int((await session.execute(stmt)).scalar_one())

    async def set_prompt(self, challenge_id: int, chat_id: str, message_id: str) -> None:
        stmt = (
            update(CaptchaChallenge)
            .where(CaptchaChallenge.id == challenge_id)
            .values(prompt_chat_id=chat_id, prompt_message_id=message_id)
        )
        async with self._db.session() as session, session.begin():
            await session.execute(stmt)

    async def pending_challenge(
        self, platform: str, chat_id: str, member_id: int
    ) -> Challenge | None:
        stmt = select(CaptchaChallenge).where(
            CaptchaChallenge.platform == platform,
            CaptchaChallenge.chat_id == chat_id,
            CaptchaChallenge.member_id == member_id,
            CaptchaChallenge.status == "pending",
        )
        async with self._db.session() as session:
            row = (await session.execute(stmt)).scalar_one_or_none()
            return _challenge(row) if row is not None else None

    async def has_solved(self, platform: str, chat_id: str, member_id: int) -> bool:
        """Whether the member already proved themselves in this group."""
        stmt = select(CaptchaChallenge.id).where(
            CaptchaChallenge.platform == platform,
            CaptchaChallenge.chat_id == chat_id,
            CaptchaChallenge.member_id == member_id,
            CaptchaChallenge.status == "solved",
        )
        async with self._db.session() as session:
            return (await session.execute(stmt)).first() is not None

    async def challenge(self, challenge_id: int) -> Challenge | None:
        stmt = select(CaptchaChallenge).where(
            CaptchaChallenge.id == challenge_id, CaptchaChallenge.status == "pending"
        )
        async with self._db.session() as session:
            row = (await session.execute(stmt)).scalar_one_or_none()
            return _challenge(row) if row is not None else None

    async def close_challenge(self, challenge_id: int, status: str) -> bool:
        """Mark a pending challenge solved/failed; False when it was no longer pending."""
        stmt = (
            update(CaptchaChallenge)
            .where(CaptchaChallenge.id == challenge_id, CaptchaChallenge.status == "pending")
            .values(status=status)
        )
        async with self._db.session() as session, session.begin():
            return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def spend_attempt(self, challenge_id: int) -> int:
        """One wrong answer; returns the attempts left."""
        stmt = (
            update(CaptchaChallenge)
            .where(CaptchaChallenge.id == challenge_id, CaptchaChallenge.status == "pending")
            .values(attempts_left=CaptchaChallenge.attempts_left - 1)
            .returning(CaptchaChallenge.attempts_left)
        )
        async with self._db.session() as session, session.begin():
            left = (await session.execute(stmt)).scalar_one_or_none()
            return int(left) if left is not None else 0

    async def claim_expired_challenges(self, now: datetime, limit: int = 100) -> list[Challenge]:
        due = (
            select(CaptchaChallenge.id)
            .where(CaptchaChallenge.status == "pending", CaptchaChallenge.expires_at <= now)
            .limit(limit)
        )
        stmt = (
            update(CaptchaChallenge)
            .where(CaptchaChallenge.id.in_(due), CaptchaChallenge.status == "pending")
            .values(status="expired")
            .returning(CaptchaChallenge)
        )
        async with self._db.session() as session, session.begin():
            return [_challenge(row) for row in (await session.execute(stmt)).scalars()]

    # -- deletions ----------------------------------------------------------
    async def schedule_deletion(
        self, platform: str, chat_id: str, message_id: str, due_at: datetime
    ) -> None:
        async with self._db.session() as session, session.begin():
            session.add(
                ScheduledDeletion(
                    platform=platform, chat_id=chat_id, message_id=message_id, due_at=due_at
                )
            )

    async def claim_due_deletions(
        self, now: datetime, limit: int = 200
    ) -> list[tuple[str, str, str]]:
        """``(platform, chat_id, message_id)`` whose time has come, removed from the queue."""
        due = select(ScheduledDeletion.id).where(ScheduledDeletion.due_at <= now).limit(limit)
        stmt = (
            delete(ScheduledDeletion)
            .where(ScheduledDeletion.id.in_(due))
            .returning(
                ScheduledDeletion.platform, ScheduledDeletion.chat_id, ScheduledDeletion.message_id
            )
        )
        async with self._db.session() as session, session.begin():
            return [(p, c, m) for p, c, m in (await session.execute(stmt)).all()]
