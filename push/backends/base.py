"""The contract every gate backend keeps: atomic per member, shared by workers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from push.rules import Ask, Verdict, Waiting


class GateBackend(Protocol):
    """Counters, message keys, the waiting line and the kill switch.

    ``admit`` decides (see :func:`push.rules.decide`) and, when the verdict
    is *sent*, reserves the slot and the key in the same atomic step, so two
    workers can never both take a member's last slot.
    """

    async def admit(self, ask: Ask) -> Verdict: ...

    async def plan(self, ask: Ask, member_ids: Sequence[int]) -> list[Verdict]:
        """Decide ``ask`` for each member without reserving anything (campaign previews)."""

    async def release(self, member_id: int, key: str) -> None:
        """Give back a reservation whose message could not be delivered."""

    async def hold(self, member_id: int, waiting: Waiting) -> None:
        """Put a deferred message in the member's waiting line."""

    async def unhold(self, member_id: int, key: str) -> None: ...

    async def admit_group(self, chat_key: str, key: str, now: float, cap: int | None) -> Verdict:
        """Reserve one of a group's daily posts (rolling 24 h)."""

    async def set_paused(self, paused: bool, by: str | None) -> None: ...

    async def is_paused(self) -> bool: ...

    async def close(self) -> None: ...
