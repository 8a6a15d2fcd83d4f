"""The shared handlers: /start, /help, the member's own commands, admin stats and
lists, and the fallback. Every feature includes its own routers at its own order
(:meth:`bot.app.App.include`); the first matching handler wins, so these sit
between the features' (20–23) and the fallback comes last of all (100)."""

from __future__ import annotations

from bot.router import Router
from handlers import admin, admin_lists, fallback, help, member, start

#: (router, order): moderation 10, these 20–23, flows 24, push 30, knowledge 40,
#: insight 50, the fallback 100
SHARED: tuple[tuple[Router, int], ...] = (
    (start.router, 20),
    (help.router, 21),
    (member.router, 22),
    (admin.router, 23),
    (admin_lists.router, 23),
    (fallback.router, 100),
)


def default_routers() -> list[Router]:
    """The shared routers in their order (for an App given routers of its own)."""
    return [router for router, _ in SHARED]
