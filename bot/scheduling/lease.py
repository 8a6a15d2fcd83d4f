"""Which worker runs the scheduler: exactly one, chosen by a Redis lease.

The holder took ``SET key token NX PX ttl`` and renews it every ``ttl/3`` with
a compare-and-extend script; if it dies, the lease expires after ``ttl`` and
the next worker that tries takes it over. A holder that fails to renew in time
(paused, cut off) learns it lost the lease and stops running jobs.
"""

from __future__ import annotations

import secrets

from redis.asyncio import Redis
from redis.exceptions import RedisError

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisLease:
    def __init__(self, redis: Redis, ttl: float, name: str = "wl:scheduler:lease") -> None:
        self._redis = redis
        self._ttl_ms = max(1, int(ttl * 1000))
        self._name = name
        self.token = secrets.token_hex(8)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self.held = False

    @property
    def renew_every(self) -> float:
        return self._ttl_ms / 3000

    async def try_hold(self) -> bool:
        """Take the lease if free, or extend it if ours; the result is also ``held``."""
        try:
            if self.held:
                self.held = bool(
                    await self._renew(keys=[self._name], args=[self.token, self._ttl_ms])
                )
            if not self.held:
                self.held = bool(
                    await self._redis.set(self._name, self.token, nx=True, px=self._ttl_ms)
                )
        except (RedisError, OSError):
            self.held = False
        return self.held

    async def release(self) -> None:
        if self.held:
            try:
                await self._release(keys=[self._name], args=[self.token])
            except (RedisError, OSError):
                pass
            self.held = False


class LocalLease:
    """One process (no Redis): it is always the holder."""

    held = True
    renew_every = 1.0

    async def try_hold(self) -> bool:
        return True

    async def release(self) -> None:
        return None
