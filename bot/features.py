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
    from bot.callbacks import install_callbacks
    from handlers.moderation.install import install_community

    found += [install_callbacks, install_community]  # first: they wrap the adapter
    from bot.push.install import install as install_push

    found.append(install_push)
    from knowledge.install import install_knowledge

    found.append(install_knowledge)
    from flows.install import install_flows

    found.append(install_flows)
    from insight.serve import install_insight  # last: it meters the features above

    found.append(install_insight)
    return found
