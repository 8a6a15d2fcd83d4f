"""SQLite's write turn on one connection kept open, not one checked out per transaction.

The process's SQLite writers take turns (``Database``'s write lock), so the turn's
transactions can all run on one connection: checking one out of the pool and giving it
back (with the pool's reset, a rollback) cost more than the short write itself, and a
``/start`` makes several. Between two transactions the connection holds no lock and no
snapshot (WAL), so other workers on the same file see no difference.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class KeptWriter:
    """One connection of ``engine`` for whoever holds the write turn; only that holder
    may open :meth:`begin`, and one at a time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """The kept connection in a transaction, committed when the block ends and
        rolled back when it raises (or when the commit fails)."""
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._conn = await self._engine.connect()
        try:
            await conn.begin()
            yield conn
            await conn.commit()
        except BaseException:
            await self._undo(conn)
            raise

    async def _undo(self, conn: AsyncConnection) -> None:
        """Roll back what the failed transaction left; a connection that cannot even
        do that is dropped (the next turn opens a new one)."""
        try:
            if conn.in_transaction():
                await conn.rollback()
        except Exception:
            self._conn = None
            with contextlib.suppress(Exception):
                await conn.invalidate()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
