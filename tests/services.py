"""Reach the machine's PostgreSQL and Redis, or skip (fail in CI) with a reason."""

from __future__ import annotations

import asyncio
import os

import pytest

PG_URL = os.environ.get("WARMLINE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("WARMLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def services_required() -> bool:
    return os.environ.get("WARMLINE_REQUIRE_SERVICES") == "1"


def unavailable(service: str, reason: str) -> None:
    message = f"{service} unreachable ({reason})"
    if services_required():
        pytest.fail(f"{message}; WARMLINE_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
    pytest.skip(f"{message}; start it or set WARMLINE_TEST_* URLs")


async def reset_postgres(url: str = PG_URL) -> None:
    """Empty the test database so each test starts from migrations."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with asyncio.timeout(5), engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # connection refused, auth, timeout
        unavailable("PostgreSQL at 127.0.0.1:5432", f"{type(exc).__name__}: {exc}")
    finally:
        await engine.dispose()


async def fresh_redis(url: str = REDIS_URL):  # type: ignore[no-untyped-def]
    """A client on an emptied test database."""
    from storage.redis import connect_redis

    client = connect_redis(url)
    try:
        await client.flushdb()
    except Exception as exc:
        await client.aclose()
        unavailable("Redis at 127.0.0.1:6379", f"{type(exc).__name__}: {exc}")
    return client
