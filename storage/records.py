"""Plain, immutable views of stored rows handed to handlers and flows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.refs import UserRef


@dataclass(frozen=True, slots=True)
class MemberRecord:
    id: int
    platform: str
    user_id: str
    display_name: str
    username: str | None
    language: str | None
    time_zone: str | None
    source: str | None
    referrer_code: str | None
    joined_at: datetime
    last_seen_at: datetime
    started_bot: bool
    opted_out: bool
    reachable: bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.user_id)

    @property
    def user(self) -> UserRef:
        """The member as the platform knows them; their DM is ``adapter.dm(member.user)``."""
        return UserRef(self.platform, self.user_id, self.display_name, self.username, self.language)
