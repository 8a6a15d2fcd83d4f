"""Gate backends behind one contract: memory, SQL, Redis."""

from push.backends.base import GateBackend
from push.backends.memory import MemoryBackend
from push.backends.redis import BackendUnavailable, RedisBackend
from push.backends.sql import SqlBackend

__all__ = ["BackendUnavailable", "GateBackend", "MemoryBackend", "RedisBackend", "SqlBackend"]
