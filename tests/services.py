"""Reach the machine's PostgreSQL and Redis, or skip (fail in CI) with a reason."""

from __future__ import annotations

import asyncio
import os

import pytest

BASE_PG_URL = os.environ.get(
    "WARMLINE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
BASE_REDIS_URL = os.environ.get("WARMLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
#: pytest-xdist's worker name (gw0, gw1 …); each worker gets a database of its own
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def worker_urls(pg_url: str, redis_url: str, worker: str) -> tuple[str, str]:
    """The PostgreSQL database and Redis db a test worker owns: ``test`` → ``test_gw1`` and
    Redis db 15 → 14 for worker gw1, so parallel workers never empty each other's data."""
    if not worker:
        return pg_url, redis_url
    number = int(worker.removeprefix("gw"))
    pg_base, _, _ = pg_url.partition("?")
    redis_base, _, index = redis_url.rpartition("/")
    redis_db = (int(index or 0) - number - 1) % 16 if index.isdigit() else number
    return f"{pg_base}_{worker}", f"{redis_base}/{redis_db}"


PG_URL, REDIS_URL = worker_urls(BASE_PG_URL, BASE_REDIS_URL, WORKER)


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

    if url != BASE_PG_URL:
        await _create_database(url)
    engine = create_async_engine(url)
    try:
        async with asyncio.timeout(5), engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # connection refused, auth, timeout
        unavailable("PostgreSQL at 127.0.0.1:5432", f"{type(exc).__name__}: {exc}")
    finally:
        await engine.dispose()


#: the worker databases this process has made sure of
_MADE: set[str] = set()


async def _create_database(url: str) -> None:
    """Create a worker's database beside the configured one, once per process."""
    if url in _MADE:
        return
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    name = url.rpartition("/")[2]
    engine = create_async_engine(BASE_PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with asyncio.timeout(5), engine.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        _MADE.add(url)
    except Exception as exc:
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
