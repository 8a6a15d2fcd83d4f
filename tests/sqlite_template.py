"""A SQLite database migrated once per test process, copied for each test that needs one.

Running every revision of the core and the features costs a test a good part of a
second; a copy of the same migrated file costs a millisecond, and the app's own migrate
at start-up then finds the schema current. tests/test_migrations.py still migrates from
nothing.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from bot.schema import with_feature_tables
from storage.database import Database


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The newest schema of the core and every installed feature, in a file no test
    writes to."""
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
def sqlite_url(migrated_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite database of the test's own."""
    path = tmp_path / "warmline.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite+aiosqlite:///{path}"
