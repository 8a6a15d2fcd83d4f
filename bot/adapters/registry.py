"""Where a package that adds a platform finds :class:`Platform` (the registry itself is
the core's, :mod:`bot.platforms`; this name stays for the packages that import it)."""

from bot.platforms import (
    BUILT_IN,
    DEFAULT,
    ENTRY_POINTS,
    Platform,
    factory,
    platform_names,
    platforms,
)

__all__ = [
    "BUILT_IN",
    "DEFAULT",
    "ENTRY_POINTS",
    "Platform",
    "factory",
    "platform_names",
    "platforms",
]
