"""Features register themselves; the core knows none of them.

A feature is a :class:`Feature` object that a package names in its
``warmline.features`` entry points (``name = "module:FEATURE"``): Warmline's own
features are listed in its ``pyproject.toml``, and a third-party package ships
a feature the same way. Each installer registers services, routers,
middlewares, hooks and HTTP routes on the :class:`~bot.app.App`; features are
installed in the order of their ``order`` (then name), so one that wraps or
meters the others says so by its number. A feature may also add sub-commands
to ``warmline`` (``commands``) and check the files its config section points at
(``check``, run by ``warmline config check``). The top-level config key
``features:`` picks which installed features an App loads (absent: all).

A feature may bring its own config section and its own tables:

- ``config``: a pydantic model for the top-level key named like the feature, validated
  whenever a config is loaded (an error names ``<feature>.<key>`` and the line); the App's
  features read it with ``app.config.section(name, Model)``. The section of an installed
  feature that ``features:`` leaves out is not checked, only noted
  (:mod:`bot.config.sections`).
- ``migrations``: a folder of alembic revision scripts. A third-party feature's folder is a
  branch of its own: its first revision has no ``down_revision``, the feature's name as
  ``branch_labels`` and the core's head (today ``"0019"``) as ``depends_on``, so it runs
  once the core's revisions have. Warmline's own features declare their folders the same
  way, but theirs hold revisions *of the core chain* (push's ``0002``, moderation's
  ``0005``, ...): the same ids, parents and files as when they all sat in
  ``storage/migrations/versions``, which keeps what touches core tables or several
  features (the foundation, merges, the update inbox, the member loop). Alembic finds a
  revision by its id in any of the folders it is given, so a database that recorded them
  before the move upgrades unchanged. ``warmline db upgrade``, the App's schema check and
  every other caller of :func:`storage.revisions.alembic_config` take the folders of every
  *installed* feature, loaded or not (:func:`migration_locations`): the core chain is
  whole only with the built-in features' folders, and a database that once ran a feature
  never holds a revision alembic cannot find.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import ConfigError

if TYPE_CHECKING:
    import typer
    from pydantic import BaseModel

    from bot.app import App
    from bot.config.model import WarmlineConfig

GROUP = "warmline.features"


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    #: wires the feature into an App; None for a feature that only adds commands
    install: Callable[[App], None] | None = None
    #: smaller first; Warmline's own use 0 (routers) to 90 (metering)
    order: int = 50
    #: adds the feature's sub-commands to the ``warmline`` command line
    commands: Callable[[typer.Typer], None] | None = None
    #: one ``key: message`` line per problem in the files the config points at
    check: Callable[[WarmlineConfig], list[str]] | None = None
    #: features whose services this one uses: ``features:`` must list them too
    requires: tuple[str, ...] = ()
    #: the model of the feature's config section, the top-level key named like it
    config: type[BaseModel] | None = None
    #: the folder of the feature's alembic revision scripts (see the module's docstring)
    migrations: Path | None = None


def feature_names() -> list[str]:
    """The names of the installed features, without importing any of them."""
    return sorted({entry.name for entry in entry_points(group=GROUP)})


def features(chosen: Sequence[str] | None = None) -> list[Feature]:
    """The registered features (only those ``chosen``, when given), in install order."""
    found = load_features(chosen)
    if not found and chosen is None:
        raise ConfigError(
            "no features are registered: install Warmline as a package (pip install -e .)"
        )
    _check_requirements(found, chosen)
    return sorted(found, key=lambda f: (f.order, f.name))


def migration_locations() -> list[Path]:
    """The migration folders of every installed feature (see the module's docstring)."""
    return sorted(f.migrations for f in load_features(None) if f.migrations is not None)


def load_features(chosen: Sequence[str] | None) -> list[Feature]:
    """The registered features (only those ``chosen``, when given), as found: no check
    of what they require (the config's validation uses this; the App checks)."""
    found: list[Feature] = []
    for entry in entry_points(group=GROUP):
        if chosen is not None and entry.name not in chosen:
            continue
        feature = entry.load()
        if not isinstance(feature, Feature):
            raise ConfigError(f"entry point {GROUP}:{entry.name} is not a bot.features.Feature")
        if feature.name != entry.name:
            raise ConfigError(
                f"entry point {GROUP}:{entry.name} names a feature called {feature.name!r}"
            )
        found.append(feature)
    return found


def _check_requirements(found: list[Feature], chosen: Sequence[str] | None) -> None:
    names = {feature.name for feature in found}
    for feature in found:
        absent = [name for name in feature.requires if name not in names]
        if absent and chosen is not None:
            raise ConfigError(
                f"features: {feature.name!r} needs {', '.join(map(repr, absent))}; "
                "add it to features: or leave the key out to load every installed feature"
            )
        if absent:
            raise ConfigError(
                f"feature {feature.name!r} needs {', '.join(map(repr, absent))}, "
                "which is not installed"
            )
