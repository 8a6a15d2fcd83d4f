"""Schema management: SQLite migrates itself; servers need ``warmline db upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from sqlalchemy import Connection

from storage.database import Database
from storage.revisions import alembic_config


class SchemaNotCurrent(RuntimeError):
    """The server database is behind (or beside) the migrations: someone must run
    ``warmline db upgrade``. Storage's own error, so storage never imports the core;
    the core reports it as the configuration error it is (:mod:`bot.schema`)."""


async def ensure_schema(db: Database) -> None:
    if db.dialect == "sqlite":
        await db.migrate()
        return
    async with db.engine.connect() as conn:
        current, heads, applied = await conn.run_sync(_revisions, db.migrations)
    if not heads <= applied:
        raise SchemaNotCurrent(
            f"storage.database_url: the database schema is not current "
            f"(at {sorted(current) or 'nothing'}, need {sorted(heads)}); run `warmline db upgrade -c FILE`"
        )


def _revisions(conn: Connection, migrations: list[Path]) -> tuple[set[str], set[str], set[str]]:
    """The database's recorded heads, the scripts' heads, and every revision the recorded
    ones stand for. Alembic records a branch that ``depends_on`` the core's heads as its
    own head alone, so "current" means every head of the scripts is among those applied."""
    current = set(MigrationContext.configure(conn).get_current_heads())
    script = ScriptDirectory.from_config(alembic_config(None, migrations))
    heads = set(script.get_heads())
    try:
        applied = {r.revision for r in script.iterate_revisions(tuple(current), "base")}
    except RevisionError:  # a revision these scripts do not know (newer code, a removed feature)
        applied = set()
    return current, heads, applied
