"""Migrations and table definitions never drift apart, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from storage.database import Database, alembic_config
from storage.models import metadata


def _diff(conn: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(conn), metadata))


async def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await db.close()


def test_every_revision_descends_from_the_foundation() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    for revision in script.walk_revisions():
        if revision.revision != "0001":
            assert "0001" in {
                r.revision for r in script.iterate_revisions(revision.revision, "base")
            }
