"""The built-in features keep their revisions in their own packages, and the chain is the
one databases already record: the same ids and parents, each file in one place, and a
database migrated when every revision sat in ``storage/migrations/versions`` upgrades
to the same schema with nothing to do."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from typer.testing import CliRunner

from bot.cli import app
from bot.features import migration_locations
from bot.schema import ensure_schema, with_feature_tables
from storage.database import MIGRATIONS, Database, alembic_config
from storage.models import metadata

REPO = Path(__file__).resolve().parent.parent
CORE = MIGRATIONS / "versions"

#: revision -> (its parents, the package whose folder holds it); the chain of before the
#: move, which databases record: changing it orphans their revisions
CHAIN: dict[str, tuple[tuple[str, ...], str]] = {
    "0001": ((), "storage"),
    "0002": (("0001",), "push"),
    "0003": (("0001",), "knowledge"),
    "0004": (("0001",), "flows"),
    "0005": (("0001",), "moderation"),
    "0006": (("0001",), "insight"),
    "0007": (("0002", "0004"), "storage"),
    "0008": (("0006", "0007"), "storage"),
    "0009": (("0008",), "push"),
    "0010": (("0009",), "storage"),
    "0011": (("0003", "0010"), "knowledge"),
    "0012": (("0011",), "storage"),
    "0013": (("0012",), "push"),
    "0014": (("0013",), "knowledge"),
    "0015": (("0014",), "storage"),
    "0016": (("0015",), "storage"),
    "0017": (("0016",), "push"),
    "0018": (("0017",), "storage"),
    "0019": (("0018", "0005"), "storage"),
}

_REVISION = re.compile(r"""^revision(?::[^=]*)? = ["']([^"']+)["']""", re.M)


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(None, migration_locations()))


def test_the_chain_keeps_its_ids_parents_and_one_head() -> None:
    script = _scripts()
    found = {r.revision: r for r in script.walk_revisions()}
    assert sorted(found) == sorted(CHAIN)
    for revision, (parents, package) in CHAIN.items():
        script_ = found[revision]
        down = script_.down_revision
        assert (() if down is None else (down,) if isinstance(down, str) else down) == parents
        assert not script_.dependencies and not script_.branch_labels, revision
        folder = Path(script_.path).parent
        assert folder == (CORE if package == "storage" else REPO / package / "migrations")
    assert script.get_heads() == ["0019"]


def test_each_built_in_feature_declares_its_folder() -> None:
    folders = {p.resolve() for p in migration_locations()}
    for package in {package for _, package in CHAIN.values()} - {"storage"}:
        assert (REPO / package / "migrations").resolve() in folders, package


def test_no_revision_file_sits_in_two_places() -> None:
    """Every revision script under any ``migrations`` folder of the repository's
    packages, read as text: each id once, each file name once, all of them in a folder
    alembic is given (alembic only warns about a revision present twice)."""
    ids: dict[str, list[Path]] = {}
    names: dict[str, list[Path]] = {}
    for path in REPO.glob("*/migrations/**/*.py"):
        match = _REVISION.search(path.read_text("utf-8"))
        if match is None:  # env.py, __init__.py
            continue
        ids.setdefault(match.group(1), []).append(path)
        names.setdefault(path.name, []).append(path)
    assert {k: v for k, v in ids.items() if len(v) > 1} == {}
    assert {k: v for k, v in names.items() if len(v) > 1} == {}
    assert sorted(ids) == sorted(CHAIN)
    read = {Path(r.path).resolve() for r in _scripts().walk_revisions()}
    assert {p.resolve() for paths in ids.values() for p in paths} == read


def schema(conn: Connection) -> dict[str, Any]:
    """Tables, columns, keys and indexes, as the database reports them."""
    seen = inspect(conn)
    found: dict[str, Any] = {}
    for table in sorted(seen.get_table_names()):
        found[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in seen.get_columns(table)
            ],
            "primary": seen.get_pk_constraint(table)["constrained_columns"],
            "foreign": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in seen.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"] or "", tuple(map(str, i["column_names"])), bool(i["unique"]))
                for i in seen.get_indexes(table)
            ),
            "unique": sorted(
                (u["name"] or "", tuple(u["column_names"]))
                for u in seen.get_unique_constraints(table)
            ),
        }
    return found


def _heads(conn: Connection) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())


def _old_layout(conn: Connection, folder: Path) -> None:
    """Migrate as before the move: every revision script in one folder."""
    folder.mkdir()
    for path in [CORE, *migration_locations()]:
        for script in path.glob("[0-9]*.py"):
            shutil.copy2(script, folder / script.name)
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(folder).replace("%", "%%"))
    config.attributes["connection"] = conn
    command.upgrade(config, "heads")


async def test_a_database_of_the_old_layout_upgrades_unchanged(
    database_url: str, tmp_path: Path
) -> None:
    """Migrated with every revision in one folder, then ``warmline db upgrade`` and the
    schema check with the features' folders: nothing to do, the same schema; and a fresh
    database migrated the new way has that schema too."""
    config = tmp_path / "config.yaml"
    config.write_text(f"storage:\n  database_url: {database_url}\n", "utf-8")
    upgrade = ["db", "upgrade", "-c", str(config)]
    db = with_feature_tables(Database(database_url))
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_old_layout, tmp_path / "versions")
            before = await conn.run_sync(schema)
        assert "push_campaigns" in before and "kb_learned" in before
        result = await asyncio.to_thread(CliRunner().invoke, app, upgrade)  # its own loop
        assert result.exit_code == 0, result.output
        await ensure_schema(db)
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_heads) == {"0019"}
            assert await conn.run_sync(schema) == before
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.exec_driver_sql("DROP TABLE alembic_version")
            assert await conn.run_sync(schema) == {}
        result = await asyncio.to_thread(CliRunner().invoke, app, upgrade)
        assert result.exit_code == 0, result.output
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_heads) == {"0019"}
            fresh = await conn.run_sync(schema)
        assert fresh == before
    finally:
        await db.close()


def test_migrating_without_the_features_folders_names_what_is_missing(tmp_path: Path) -> None:
    """The core folder alone is not a whole chain: the error says which revision and
    which folders were read, not alembic's bare ``KeyError``."""

    async def run() -> None:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'core-only.db'}")
        try:
            await database.migrate()
        finally:
            await database.close()

    with pytest.warns(UserWarning), pytest.raises(LookupError) as caught:
        asyncio.run(run())
    message = str(caught.value)
    assert "'0002'" in message and str(MIGRATIONS / "versions") in message
    assert "migrations folder of every installed feature" in message
