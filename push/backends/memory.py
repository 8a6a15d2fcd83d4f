"""In-process backend: one worker only (tests, ``warmline chat``)."""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections.abc import Sequence
from dataclasses import dataclass, field

from push.contract import Outcome
from push.rules import DAY, WEEK, Ask, MemberState, Reason, Verdict, Waiting, decide


@dataclass(slots=True)
class _Member:
    sends: dict[str, tuple[float, str, bool]] = field(default_factory=dict)
    #: the counting sends among ``sends`` as (time, category), kept sorted: what
    #: :func:`decide` is given is a tail of it, not a sort of ``sends`` at every ask
    counted: list[tuple[float, str]] = field(default_factory=list)
    waiting: dict[str, Waiting] = field(default_factory=dict)
    #: no send is older than this: sends are looked through for expired ones only from then
    oldest: float = math.inf

    def forget(self, key: str) -> None:
        """The send of ``key`` is gone (released, or replaced by a new send of it)."""
        sent = self.sends.pop(key, None)
        if sent is not None and sent[2]:
            self.counted.remove((sent[0], sent[1]))


def _time(send: tuple[float, str]) -> float:
    return send[0]


class MemoryBackend:
    """Nothing awaits inside a decision, so the event loop makes each one atomic."""

    def __init__(self, key_ttl: float = 30 * DAY, paused: bool = False) -> None:
        self._key_ttl = key_ttl
        self._members: dict[int, _Member] = {}
        self._groups: dict[str, dict[str, float]] = {}
        self._paused = paused

    def _state(self, ask: Ask) -> tuple[_Member, MemberState]:
        member = self._members.get(ask.member_id)
        if member is None:
            member = self._members[ask.member_id] = _Member()
        horizon = ask.now - max(self._key_ttl, WEEK)
        # expired sends are dropped a week late, in one sweep: a week's sends cost one
        # look through them, not one each; what is past the horizon decides nothing
        # (keys are checked against their TTL, caps look a week back)
        if member.oldest <= horizon - WEEK:
            for key in [k for k, (at, _, _) in member.sends.items() if at <= horizon]:
                del member.sends[key]
            member.oldest = min((at for at, _, _ in member.sends.values()), default=math.inf)
            del member.counted[: bisect_right(member.counted, horizon, key=_time)]
        sent = member.sends.get(ask.key)
        counted = member.counted
        # caps and gaps look no further back than a week (rules.decide)
        recent = bisect_right(counted, ask.now - WEEK, key=_time)
        state = MemberState(
            sends=counted[recent:] if recent else counted.copy(),
            has_key=sent is not None and sent[0] > ask.now - self._key_ttl,
            waiting=list(member.waiting.values()),
        )
        return member, state

    async def admit(self, ask: Ask) -> Verdict:
        member, state = self._state(ask)
        verdict = decide(state, ask, self._paused)
        if verdict.outcome is Outcome.SENT:
            if ask.key in member.sends:
                member.forget(ask.key)
            member.sends[ask.key] = (ask.now, ask.category, not ask.bypass)
            if not ask.bypass:
                insort(member.counted, (ask.now, ask.category))
            member.oldest = min(member.oldest, ask.now)
            member.waiting.pop(ask.key, None)
        return verdict

    async def plan(self, ask: Ask, member_ids: Sequence[int]) -> list[Verdict]:
        asks = [ask._replace(member_id=member_id) for member_id in member_ids]
        return [decide(self._state(one)[1], one, self._paused) for one in asks]

    async def release(self, member_id: int, key: str) -> None:
        self._members.get(member_id, _Member()).forget(key)

    async def hold(self, member_id: int, waiting: Waiting) -> None:
        self._members.setdefault(member_id, _Member()).waiting[waiting.key] = waiting

    async def unhold(self, member_id: int, key: str) -> None:
        self._members.get(member_id, _Member()).waiting.pop(key, None)

    async def admit_group(self, chat_key: str, key: str, now: float, cap: int | None) -> Verdict:
        if self._paused:
            return Verdict(Outcome.DEFERRED, Reason.PAUSED)
        posts = self._groups.setdefault(chat_key, {})
        for old in [k for k, at in posts.items() if at <= now - DAY]:
            del posts[old]
        if key in posts:
            return Verdict(Outcome.DROPPED, Reason.DUPLICATE)
        if cap is not None and len(posts) >= cap:
            until = sorted(posts.values())[len(posts) - cap] + DAY if cap else None
            return Verdict(Outcome.DROPPED, Reason.GROUP_CAP, until)
        posts[key] = now
        return Verdict(Outcome.SENT)

    async def set_paused(self, paused: bool, by: str | None) -> None:
        self._paused = paused

    async def is_paused(self) -> bool:
        return self._paused

    async def close(self) -> None:
        return None
