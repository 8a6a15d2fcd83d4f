"""Where the revision scripts are: the core chain, plus features' own folders.

The core chain (``storage/migrations/versions``) holds every built-in table, Warmline's
own features' included. A feature package may bring a folder of its own revisions, a
branch off the core chain (``bot.features.Feature.migrations``); storage takes the
folders it is handed and knows nothing of features.
"""

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
    """The core chain, plus the ``migrations`` folders of features' own revisions."""
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
    """Every branch to its newest revision, on a connection in a transaction."""
    command.upgrade(alembic_config(connection, migrations), "heads")
