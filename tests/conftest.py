from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from services import PG_URL, fresh_redis, reset_postgres

from storage.database import Database

#: the Camellia index fixtures, built once per session (tests/knowledge_support.py)
pytest_plugins = ["knowledge_support"]

REPO = Path(__file__).resolve().parent.parent
SHARED_KB = REPO.parent / "shared" / "kb" / "camellia"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'warmline.db'}"


@pytest.fixture
async def pg_url() -> str:
    await reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage contract test runs on SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'warmline.db'}"
    await reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on each backend (closed after the test)."""
    database = Database(database_url)
    await database.migrate()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def redis_client() -> AsyncIterator[object]:
    client = await fresh_redis()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def camellia_kb() -> Path:
    if not SHARED_KB.is_dir():
        pytest.skip(f"shared knowledge base not found at {SHARED_KB}")
    return SHARED_KB
