"""PostgreSQL's connection pool: the overflow is kept through a burst, closed once idle.

SQLAlchemy's ``QueuePool`` closes an overflow connection as soon as it is given back
while ``pool_size`` others sit idle. Under a burst that happens many times a second (a
connection comes back a moment before the next waiter takes it), so each burst opened
dozens of new connections, each a server backend forked and authenticated with cold
statement and plan caches. Here every connection up to ``pool_size + max_overflow`` is
kept while the pool needs more than ``pool_size`` at once; after ``overflow_idle``
seconds without such a need, connections above ``pool_size`` are closed as they are
given back (a running worker's inbox upkeep gives one back every second or so).
"""

from __future__ import annotations

import math
import time
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

#: seconds without a need for more than ``pool_size`` connections before the rest close
OVERFLOW_IDLE = 60.0


class KeepingPool(AsyncAdaptedQueuePool):
    """At most ``pool_size + max_overflow`` connections, the overflow closed only after
    ``overflow_idle`` quiet seconds. Give it to ``create_async_engine`` as ``poolclass``
    with ``pool_size``, ``max_overflow`` and ``overflow_idle``."""

    def __init__(
        self,
        creator: Any,
        pool_size: int = 5,
        max_overflow: int = 5,
        overflow_idle: float = OVERFLOW_IDLE,
        **kw: Any,
    ) -> None:
        if pool_size < 1 or max_overflow < 0:
            raise ValueError("KeepingPool needs pool_size >= 1 and max_overflow >= 0")
        # the queue holds every connection the pool may open, so none is closed for
        # want of room in it; the size to come back down to is ours to keep
        super().__init__(creator, pool_size=pool_size + max_overflow, max_overflow=0, **kw)
        self._keep = pool_size
        self._overflow_idle = overflow_idle
        #: when more than ``pool_size`` connections were last checked out (monotonic)
        self._needed_at = -math.inf

    def opened(self) -> int:
        """Connections open now, checked out or idle."""
        return self.size() + self._overflow

    def _do_get(self) -> ConnectionPoolEntry:
        record = super()._do_get()
        if self.checkedout() > self._keep:
            self._needed_at = time.monotonic()
        return record

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        surplus = self.opened() > self._keep
        if surplus and time.monotonic() - self._needed_at >= self._overflow_idle:
            try:
                record.close()
            finally:
                self._dec_overflow()
            return
        super()._do_return_conn(record)

    def recreate(self) -> KeepingPool:
        # QueuePool.recreate passes the queue's size as pool_size and no overflow
        fresh = super().recreate()
        assert isinstance(fresh, KeepingPool)
        fresh._keep, fresh._overflow_idle = self._keep, self._overflow_idle
        return fresh

    def status(self) -> str:
        return f"{super().status()} Kept when idle: {self._keep}"
