"""The shared handlers as a feature: their routers, placed among the features'."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features import Feature
from handlers import SHARED

if TYPE_CHECKING:
    from bot.app import App


def install_handlers(app: App) -> None:
    for router, order in SHARED:
        app.include(router, order=order)


FEATURE = Feature("handlers", install_handlers, order=0)
