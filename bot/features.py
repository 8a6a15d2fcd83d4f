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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from bot.errors import ConfigError

if TYPE_CHECKING:
    import typer

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


def feature_names() -> list[str]:
    """The names of the installed features, without importing any of them."""
    return sorted({entry.name for entry in entry_points(group=GROUP)})


def features(chosen: Sequence[str] | None = None) -> list[Feature]:
    """The registered features (only those ``chosen``, when given), in install order."""
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
    if not found and chosen is None:
        raise ConfigError(
            "no features are registered: install Warmline as a package (pip install -e .)"
        )
    _check_requirements(found, chosen)
    return sorted(found, key=lambda f: (f.order, f.name))


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
