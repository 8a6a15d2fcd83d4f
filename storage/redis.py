"""Redis connection from ``storage.redis_url``."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis


def connect_redis(url: str, max_connections: int = 64) -> Redis:
    """A pooled client with short timeouts: a dead Redis must fail fast, not hang
    handlers, and a burst of callers waits for a connection instead of failing."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=5,
        socket_connect_timeout=2,
        socket_timeout=2,
        health_check_interval=30,
    )
    return Redis(connection_pool=pool)
