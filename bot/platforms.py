"""Which adapter ``bot.platform`` names: the built-in ones and any a package adds.

A platform registers itself as a :class:`Platform`: its name, its factory
``(config, web) -> Adapter`` given as ``"module:function"`` and imported only when
that platform is chosen (so no platform library is loaded for another), and what it
brings to the rest of Warmline: the model of its config section ``bot.<name>``, the
environment variables that override keys of that section, what must be set before it
can start, and its ``warmline`` sub-commands. The core knows none of these for any
platform. A third-party package registers one under the ``warmline.adapters``
entry-point group (``name = "module:PLATFORM"``, a module cheap to import: no platform
library at its top); an entry point naming the factory itself still works, without a
section, variables or commands of its own.

It is the core's side of the registry (the core imports nothing from ``bot/adapters``;
a platform's modules are named here as strings), re-exported as
``bot.adapters.registry`` for the packages that register a platform.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import typer
    from pydantic import BaseModel

    from bot.adapter import Adapter
    from bot.config.model import WarmlineConfig
    from bot.web import WebServer

Factory = Callable[["WarmlineConfig", "WebServer | None"], "Adapter"]
#: (the platform's section, None when absent) → (key below ``bot``, what is wrong) or None
StartCheck = Callable[[Any], "tuple[str, str] | None"]


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    #: ``"module:function"`` of the factory, imported when this platform is chosen
    build: str
    #: the model of ``bot.<name>``, validated whenever the section is there
    config: type[BaseModel] | None = None
    #: what stops this platform from starting, checked when ``bot.platform`` names it
    start_problem: StartCheck | None = None
    #: environment variable → the key below ``bot.<name>`` it overrides
    env: Mapping[str, str] = field(default_factory=dict)
    #: adds the platform's sub-commands to the ``warmline`` command line
    commands: Callable[[typer.Typer], None] | None = None
    #: what ``warmline config check`` says of the chosen platform's section
    summary: Callable[[Any], str] | None = None
    #: deprecated keys below ``bot.<name>`` → the ``http.*`` key they are read as
    http_aliases: Mapping[str, str] = field(default_factory=dict)


#: ``bot.platform`` when the config names none: the terminal and in-process adapter,
#: which needs no token (``bot/adapters/local_platform.py``)
DEFAULT = "local"
#: platform name → "module:ATTRIBUTE" of its registration (or the registration itself)
BUILT_IN: dict[str, Platform | str] = {
    DEFAULT: "bot.adapters.local_platform:PLATFORM",
    "telegram": "bot.adapters.telegram_platform:PLATFORM",
    "wecom": "bot.adapters.wecom.platform:PLATFORM",
}
ENTRY_POINTS = "warmline.adapters"


def platform_names() -> list[str]:
    """Every platform this installation can run on, without importing any of them."""
    return sorted({*BUILT_IN, *(entry.name for entry in entry_points(group=ENTRY_POINTS))})


def platforms() -> dict[str, Platform]:
    """Every platform's registration, by name (a built-in one wins over a namesake)."""
    found = {
        name: where if isinstance(where, Platform) else _load(name, where)
        for name, where in BUILT_IN.items()
    }
    for entry in entry_points(group=ENTRY_POINTS):
        if entry.name not in found:
            found[entry.name] = _load(entry.name, entry.value)
    return found


def factory(platform: str) -> Factory:
    known = platforms()
    if platform not in known:
        raise LookupError(
            f"bot.platform: no adapter {platform!r} (known: {', '.join(sorted(known))})"
        )
    module, _, name = known[platform].build.partition(":")
    return cast(Factory, getattr(importlib.import_module(module), name))


def build_adapter(config: WarmlineConfig, web: WebServer | None = None) -> Adapter:
    """The adapter ``bot.platform`` names."""
    return factory(config.bot.platform)(config, web)


def _load(name: str, where: str) -> Platform:
    module, _, attribute = where.partition(":")
    found = getattr(importlib.import_module(module), attribute)
    if isinstance(found, Platform):
        if found.name != name:
            raise LookupError(f"{where} registers a platform called {found.name!r}, not {name!r}")
        return found
    if callable(found):  # the factory itself: a platform with nothing else to declare
        return Platform(name, where)
    raise LookupError(f"{where}: neither a bot.adapters.registry.Platform nor a factory")
