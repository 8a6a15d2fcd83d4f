"""Where the revision scripts are: the core folder, plus the folders features bring.

``storage/migrations/versions`` holds the revisions that touch core tables or several
features (the foundation, merges, the update inbox, the member loop). Each built-in
feature keeps the revisions of its own tables in its package (``push/migrations``, ...):
they are revisions of the same core chain, with the ids and parents they always had, so
the chain is whole only with those folders. A third-party feature's folder is a branch off
the chain. Storage takes the folders it is handed (``bot.features.Feature.migrations``)
and knows nothing of features."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(
    connection: Connection | None = None, migrations: Iterable[Path] = ()
) -> AlembicConfig:
    """The core folder, plus the ``migrations`` folders of the installed features."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    folders = [MIGRATIONS / "versions", *migrations]
    if len(folders) > 1:
        config.set_main_option("path_separator", "os")
        # ConfigParser reads "%" as interpolation: double it
        config.set_main_option(
            "version_locations", os.pathsep.join(str(f).replace("%", "%%") for f in folders)
        )
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, migrations: Iterable[Path] = ()) -> None:
    """Every branch to its newest revision, on a connection in a transaction.

    The core chain runs through the built-in features' folders, so a caller that leaves
    one out gets alembic's bare ``KeyError('0002')``: say instead which folders were read.
    """
    migrations = list(migrations)
    config = alembic_config(connection, migrations)
    try:
        command.upgrade(config, "heads")
    except KeyError as missing:
        folders = ", ".join(str(f) for f in [MIGRATIONS / "versions", *migrations])
        raise LookupError(
            f"migration revision {missing} is not in the folders read ({folders}); "
            "pass the migrations folder of every installed feature"
        ) from missing
