"""Fixtures of the flow tests (loaded with ``pytest_plugins``)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from bot.schema import with_feature_tables
from storage.database import Database


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite database migrated once; each test gets a copy (migrating every
    feature's revisions per test costs seconds)."""
    path = tmp_path_factory.mktemp("template") / "warmline.db"

    async def migrate() -> None:
        database = with_feature_tables(Database(f"sqlite+aiosqlite:///{path}"))
        try:
            await database.migrate()
        finally:
            await database.close()

    asyncio.run(migrate())
    return path


@pytest.fixture
def journey_url(migrated_template: Path, tmp_path: Path) -> str:
    copy = tmp_path / "warmline.db"
    shutil.copyfile(migrated_template, copy)
    return f"sqlite+aiosqlite:///{copy}"
