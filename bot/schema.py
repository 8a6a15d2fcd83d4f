"""The schema check as the core reports it: a database behind its migrations is a
configuration problem (exit code 2 from the command line, "Cannot start" from
``warmline run``), so storage's own :class:`~storage.migrate.SchemaNotCurrent` is
raised again as a :class:`~bot.errors.ConfigError` with the same message.

Storage migrates the folders it is handed; :func:`with_feature_tables` hands it those
of every installed feature (``Feature.migrations``)."""

from __future__ import annotations

from bot.errors import ConfigError
from bot.features import migration_locations
from storage import migrate
from storage.database import Database


async def ensure_schema(db: Database) -> None:
    """SQLite: migrate it; a server database: fail clearly unless it is current."""
    try:
        await migrate.ensure_schema(db)
    except migrate.SchemaNotCurrent as exc:
        raise ConfigError(str(exc)) from None


def with_feature_tables(db: Database) -> Database:
    """``db``, migrating (and checked against) installed features' own revisions too."""
    db.add_migrations(migration_locations())
    return db
