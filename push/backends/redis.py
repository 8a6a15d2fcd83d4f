"""Redis backend: one Lua script per decision, shared by every worker.

Per member: ``{p}{id}:log`` (counting sends, 7 days), ``{p}{id}:keys`` (message
keys, ``push.key_ttl``), ``{p}{id}:wait`` + ``{p}{id}:wprio`` (the waiting line).
The kill switch is ``{p}paused``. Every failure to reach Redis surfaces as
:class:`BackendUnavailable`, which the gate turns into "deferred" (fail closed).
A Redis that lost its keys is refilled from the database before it decides
again (:mod:`push.backends.restore`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.outages import StoreUnavailable
from push.backends.restore import RedisRestore
from push.contract import Outcome
from push.rules import DAY, Ask, Verdict, Waiting

_HERE = Path(__file__).parent
_RELEASE = """
local key = ARGV[1]
redis.call('ZREM', KEYS[2], key)
for _, entry in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(entry, -(#key + 1)) == '|' .. key then redis.call('ZREM', KEYS[1], entry) end
end
return 1
"""


class BackendUnavailable(StoreUnavailable):
    """The shared gate state cannot be reached: promotional pushes must wait."""


def _cap(value: int | None) -> int:
    return -1 if value is None else value


def _verdict(raw: Sequence[bytes | str | int]) -> Verdict:
    outcome, reason, until = raw
    text = reason.decode() if isinstance(reason, bytes) else str(reason)
    outcome_text = outcome.decode() if isinstance(outcome, bytes) else str(outcome)
    moment = int(until)
    return Verdict(Outcome(outcome_text), text or None, moment / 1000 if moment >= 0 else None)


_SENT = Verdict(Outcome.SENT)


def _parse(item: str) -> Verdict:
    """``outcome|reason|until`` from the batch script."""
    if item == "sent||-1":
        return _SENT
    outcome, reason, until = item.split("|")
    moment = int(until)
    return Verdict(Outcome(outcome), reason or None, moment / 1000 if moment >= 0 else None)


class RedisBackend:
    def __init__(
        self,
        redis: Redis,
        key_ttl: float = 30 * DAY,
        prefix: str = "wl:push:",
        batch: int = 1000,
        paused: bool = False,
        restore: RedisRestore | None = None,
    ) -> None:
        self._redis = redis
        self.restore = restore
        self._key_ttl_ms = int(key_ttl * 1000)
        self._prefix = prefix
        self._batch = batch
        self._admit = redis.register_script((_HERE / "admit.lua").read_text())
        self._group = redis.register_script((_HERE / "group.lua").read_text())
        self._release = redis.register_script(_RELEASE)
        self._switch = prefix + "paused"
        self._waiting: list[tuple[Ask, asyncio.Future[Verdict]]] = []
        self._flush_scheduled = False
        self._flushes: set[asyncio.Task[None]] = set()
        self._default_paused = paused
        self._initialised = False

    def _member_keys(self, member_id: int) -> list[str]:
        base = f"{self._prefix}{{{member_id}}}:"
        return [base + "log", base + "keys", base + "wait", base + "wprio"]

    @staticmethod
    def _ask_args(ask: Ask) -> list[str | int]:
        limits = ask.limits
        return [
            ask.key,
            ask.category,
            ask.priority,
            ask.seq,
            _cap(limits.day),
            _cap(limits.week),
            _cap(limits.category_day),
            _cap(limits.category_week),
            int(limits.gap * 1000),
            int(ask.bypass),
            int(ask.now * 1000),
        ]

    async def _decide(
        self, asks: Sequence[Ask], commit: bool, shared_by: Sequence[int] = ()
    ) -> list[Verdict]:
        """One script call decides a whole batch; each decision is still atomic.

        ``shared_by``: decide the one ask for each of these members (a plan),
        sending the message's values once.
        """
        if not asks:
            return []
        args: list[str | int] = [self._key_ttl_ms, int(commit), int(bool(shared_by)), self._prefix]
        if shared_by:
            args += self._ask_args(asks[0])
            args += shared_by
        else:
            for ask in asks:
                args.append(ask.member_id)
                args += self._ask_args(ask)
        for _ in range(2):
            try:
                raw = await self._admit(keys=[self._switch], args=args)
            except (RedisError, OSError) as exc:
                raise BackendUnavailable(f"redis: {exc}") from exc
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            if text != "lost":
                return [_parse(item) for item in text.split(";")]
            await self._restored()
        raise BackendUnavailable("redis lost the push state again while it was rebuilt")

    async def _restored(self) -> None:
        """Redis answered "lost": refill it from the database, or fail closed."""
        try:
            if self.restore is None:  # no record to rebuild from: the default switch
                await self.init()
            else:
                await self.restore.ensure()
        except Exception as exc:  # Redis or the database unreachable, a rebuild timed out
            raise BackendUnavailable(f"rebuilding the push state: {exc}") from exc

    async def admit(self, ask: Ask) -> Verdict:
        """Callers in the same loop turn share one script call (each decision stays atomic)."""
        future: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        self._waiting.append((ask, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._flushes.add(task := asyncio.create_task(self._flush()))
            task.add_done_callback(self._flushes.discard)
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let every caller of this loop turn join the batch
        batch, self._waiting = self._waiting[: self._batch], self._waiting[self._batch :]
        self._flush_scheduled = bool(self._waiting)
        if self._waiting:
            self._flushes.add(task := asyncio.create_task(self._flush()))
            task.add_done_callback(self._flushes.discard)
        try:
            verdicts = await self._decide([ask for ask, _ in batch], commit=True)
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), verdict in zip(batch, verdicts, strict=True):
            if not future.done():
                future.set_result(verdict)

    async def plan(self, ask: Ask, member_ids: Sequence[int]) -> list[Verdict]:
        verdicts: list[Verdict] = []
        for start in range(0, len(member_ids), self._batch):
            verdicts += await self._decide(
                [ask], commit=False, shared_by=member_ids[start : start + self._batch]
            )
        return verdicts

    async def release(self, member_id: int, key: str) -> None:
        try:
            await self._release(keys=self._member_keys(member_id)[:2], args=[key])
        except (RedisError, OSError) as exc:
            raise BackendUnavailable(f"redis: {exc}") from exc

    async def hold(self, member_id: int, waiting: Waiting) -> None:
        keys = self._member_keys(member_id)
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.zadd(keys[2], {waiting.key: int(waiting.due * 1000)})
            pipe.hset(keys[3], waiting.key, f"{waiting.priority}|{waiting.seq}")
            pipe.expire(keys[2], self._key_ttl_ms // 1000)
            pipe.expire(keys[3], self._key_ttl_ms // 1000)
            await pipe.execute()
        except (RedisError, OSError) as exc:
            raise BackendUnavailable(f"redis: {exc}") from exc

    async def unhold(self, member_id: int, key: str) -> None:
        keys = self._member_keys(member_id)
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.zrem(keys[2], key)
            pipe.hdel(keys[3], key)
            await pipe.execute()
        except (RedisError, OSError) as exc:
            raise BackendUnavailable(f"redis: {exc}") from exc

    async def admit_group(self, chat_key: str, key: str, now: float, cap: int | None) -> Verdict:
        for _ in range(2):
            try:
                raw = await self._group(
                    keys=[f"{self._prefix}group:{chat_key}", self._switch],
                    args=[int(now * 1000), key, _cap(cap)],
                )
            except (RedisError, OSError) as exc:
                raise BackendUnavailable(f"redis: {exc}") from exc
            first = raw[0].decode() if isinstance(raw[0], bytes) else str(raw[0])
            if first != "lost":
                return _verdict(raw)
            await self._restored()
        raise BackendUnavailable("redis lost the push state again while it was rebuilt")

    async def init(self) -> None:
        """Make sure Redis holds the gate's state: rebuilt from the database when it
        came back empty, else just the configured default of the kill switch."""
        if self.restore is not None:
            await self.restore.ensure()
            return
        await self._redis.set(self._switch, "1" if self._default_paused else "0", nx=True)

    async def set_paused(self, paused: bool, by: str | None) -> None:
        if self.restore is not None:  # the database keeps it for a rebuild
            await self.restore.history.set_paused(paused, by)
        await self._redis.set(self._switch, "1" if paused else "0")

    async def is_paused(self) -> bool:
        try:
            value = await self._redis.get(self._switch)
        except (RedisError, OSError) as exc:
            raise BackendUnavailable(f"redis: {exc}") from exc
        return self._default_paused if value is None else value in (b"1", "1")

    async def close(self) -> None:
        return None
