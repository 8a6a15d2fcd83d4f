"""Migrations and table definitions never drift apart, on both databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from typer.testing import CliRunner

from bot.cli import app
from bot.features import migration_locations
from bot.schema import with_feature_tables
from storage.database import Database, alembic_config
from storage.migrate import ensure_schema
from storage.models import metadata


def _diff(conn: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(conn), metadata))


async def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    db = with_feature_tables(Database(database_url))
    try:
        await db.migrate()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await db.close()


def test_every_revision_descends_from_the_foundation() -> None:
    script = ScriptDirectory.from_config(alembic_config(None, migration_locations()))
    for revision in script.walk_revisions():
        if revision.revision != "0001":
            assert "0001" in {
                r.revision for r in script.iterate_revisions(revision.revision, "base")
            }


def test_the_core_chain_ends_in_one_head() -> None:
    """Every built-in feature's branch off the foundation is merged back (0005, the
    moderation tables, by 0019), wherever the feature keeps its revisions."""
    assert ScriptDirectory.from_config(alembic_config(None, migration_locations())).get_heads() == [
        "0019"
    ]


def _heads(conn: Connection) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())


def _upgrade_to(conn: Connection, *revisions: str) -> None:
    for revision in revisions:
        command.upgrade(alembic_config(conn, migration_locations()), revision)


async def test_db_upgrade_leaves_one_head(database_url: str, tmp_path: Path) -> None:
    """A fresh database, and one at the two heads of before (0018 and 0005): after
    ``warmline db upgrade`` both are at the one head, and current."""
    config = tmp_path / "config.yaml"
    config.write_text(f"storage:\n  database_url: {database_url}\n", "utf-8")
    db = with_feature_tables(Database(database_url))
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_upgrade_to, "0018", "0005")
            assert await conn.run_sync(_heads) == {"0018", "0005"}
        for _ in range(2):  # the old two heads merged; then a fresh database's first run
            args = ["db", "upgrade", "-c", str(config)]
            result = await asyncio.to_thread(CliRunner().invoke, app, args)  # its own loop
            assert result.exit_code == 0, result.output
            async with db.engine.connect() as conn:
                assert await conn.run_sync(_heads) == {"0019"}
            await ensure_schema(db)
            async with db.engine.begin() as conn:
                await conn.run_sync(metadata.drop_all)
                await conn.exec_driver_sql("DROP TABLE alembic_version")
    finally:
        await db.close()
