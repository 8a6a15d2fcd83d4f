"""Schema management: SQLite migrates itself; servers need ``warmline db upgrade``."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from storage.database import Database, alembic_config


class SchemaNotCurrent(RuntimeError):
    """The server database is behind (or beside) the migrations: someone must run
    ``warmline db upgrade``. Storage's own error, so storage never imports the core;
    the core reports it as the configuration error it is (:mod:`bot.schema`)."""


async def ensure_schema(db: Database) -> None:
    if db.dialect == "sqlite":
        await db.migrate()
        return
    async with db.engine.connect() as conn:
        current, heads = await conn.run_sync(_revisions)
    if current != heads:
        raise SchemaNotCurrent(
            f"storage.database_url: the database schema is not current "
            f"(at {sorted(current) or 'nothing'}, need {sorted(heads)}); run `warmline db upgrade -c FILE`"
        )


def _revisions(conn: Connection) -> tuple[set[str], set[str]]:
    current = set(MigrationContext.configure(conn).get_current_heads())
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    return current, heads
