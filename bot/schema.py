"""The schema check as the core reports it: a database behind its migrations is a
configuration problem (exit code 2 from the command line, "Cannot start" from
``warmline run``), so storage's own :class:`~storage.migrate.SchemaNotCurrent` is
raised again as a :class:`~bot.errors.ConfigError` with the same message."""

from __future__ import annotations

from bot.errors import ConfigError
from storage import migrate
from storage.database import Database


async def ensure_schema(db: Database) -> None:
    """SQLite: migrate it; a server database: fail clearly unless it is current."""
    try:
        await migrate.ensure_schema(db)
    except migrate.SchemaNotCurrent as exc:
        raise ConfigError(str(exc)) from None
