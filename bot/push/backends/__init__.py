"""Gate backends behind one contract: memory, SQL, Redis."""

from bot.push.backends.base import GateBackend
from bot.push.backends.memory import MemoryBackend
from bot.push.backends.redis import BackendUnavailable, RedisBackend
from bot.push.backends.sql import SqlBackend

__all__ = ["BackendUnavailable", "GateBackend", "MemoryBackend", "RedisBackend", "SqlBackend"]
