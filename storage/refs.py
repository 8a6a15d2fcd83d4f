"""Who and where: the platform-neutral references to a member and a chat.

They are plain values, not events, and both the core (``bot.events``, which
re-exports them, so ``from bot.events import UserRef`` keeps working) and the
shared storage build them. They live here, in the lowest shared layer, so that
storage never imports the core: the package graph stays one way (bot → storage).
Ids are strings so that every platform fits the same columns and keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    CHANNEL = "channel"


@dataclass(frozen=True, slots=True)
class UserRef:
    platform: str
    id: str
    display_name: str = ""
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.id)


@dataclass(frozen=True, slots=True)
class ChatRef:
    platform: str
    id: str
    kind: ChatKind = ChatKind.PRIVATE
    title: str | None = None

    @property
    def is_private(self) -> bool:
        return self.kind is ChatKind.PRIVATE

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.id)
