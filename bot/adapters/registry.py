"""Which adapter ``bot.platform`` names: the built-in ones and any a package adds.

A platform is a name and a factory ``(config, web) -> Adapter`` given as
``"module:function"``, imported only when that platform is chosen (so no
platform library is loaded for another). A third-party package registers one
under the ``warmline.adapters`` entry-point group; the core needs no change.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from bot.adapter import Adapter
    from bot.config.model import WarmlineConfig
    from bot.web import WebServer

Factory = Callable[["WarmlineConfig", "WebServer | None"], "Adapter"]

#: platform name → "module:function" building its adapter
BUILT_IN = {
    "local": "bot.adapters.local:build",
    "telegram": "bot.adapters.telegram_base:build",
    "wecom": "bot.adapters.wecom.adapter:build",
}
ENTRY_POINTS = "warmline.adapters"


def platforms() -> dict[str, str]:
    """Every platform this installation can run on, and where its factory lives."""
    found = dict(BUILT_IN)
    for entry in entry_points(group=ENTRY_POINTS):
        found.setdefault(entry.name, entry.value)
    return found


def factory(platform: str) -> Factory:
    known = platforms()
    if platform not in known:
        raise LookupError(
            f"bot.platform: no adapter {platform!r} (known: {', '.join(sorted(known))})"
        )
    module, _, name = known[platform].partition(":")
    return cast(Factory, getattr(importlib.import_module(module), name))
