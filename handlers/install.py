"""The shared handlers as a feature: the default routers, first in the dispatcher."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features import Feature

if TYPE_CHECKING:
    from bot.app import App


def install_handlers(app: App) -> None:
    """Unless the App was given routers of its own (tests, embedders)."""
    from handlers import default_routers  # the knowledge base's models: not for `warmline -h`

    if app.default_routers:
        for router in default_routers():
            app.dispatcher.include(router)


FEATURE = Feature(
    "handlers", install_handlers, order=0, requires=("community", "push", "knowledge")
)
