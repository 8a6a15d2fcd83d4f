"""Handler modules, each with its own router. Order matters: the first
matching handler wins, and the fallback comes last."""

from __future__ import annotations

from bot.router import Router
from handlers import fallback, help, start


def default_routers() -> list[Router]:
    return [start.router, help.router, fallback.router]
