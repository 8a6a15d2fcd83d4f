"""Optional features wire themselves into an :class:`~bot.app.App` here.

Each installer registers services (``app.services.provide``), start-up and
shutdown hooks, and HTTP routes. The order is the order they start in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import App

Installer = Callable[["App"], None]


def installers() -> list[Installer]:
    """Imported lazily so the core does not depend on feature packages."""
    found: list[Installer] = []
    return found
