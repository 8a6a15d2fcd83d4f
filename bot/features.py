"""Features register themselves; the core knows none of them.

A feature is a :class:`Feature` object that a package names in its
``warmline.features`` entry points (``name = "module:FEATURE"``): Warmline's own
features are listed in its ``pyproject.toml``, and a third-party package ships
a feature the same way. Each installer registers services, routers,
middlewares, hooks and HTTP routes on the :class:`~bot.app.App`; features are
installed in the order of their ``order`` (then name), so one that wraps or
meters the others says so by its number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.app import App

GROUP = "warmline.features"


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    install: Callable[[App], None]
    #: smaller first; Warmline's own use 0 (routers) to 90 (metering)
    order: int = 50


def features() -> list[Feature]:
    """Every registered feature, in install order."""
    found: list[Feature] = []
    for entry in entry_points(group=GROUP):
        feature = entry.load()
        if not isinstance(feature, Feature):
            raise ConfigError(f"entry point {GROUP}:{entry.name} is not a bot.features.Feature")
        found.append(feature)
    if not found:
        raise ConfigError(
            "no features are registered: install Warmline as a package (pip install -e .)"
        )
    return sorted(found, key=lambda f: (f.order, f.name))
