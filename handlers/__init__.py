"""Handler modules, each with its own router. Order matters: the first
matching handler wins, and the fallback comes last."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.router import Router


def default_routers() -> list[Router]:
    # imported here, not with the package: a feature installed from a sub-package
    # (handlers.moderation) or the command line needs none of them
    from handlers import (
        admin,
        fallback,
        help,
        journey,
        kb_learning,
        member,
        moderation,
        push,
        qa,
        segments,
        start,
    )
    from insight import commands as insight_commands

    return [
        *moderation.routers,
        start.router,
        help.router,
        member.router,
        admin.router,
        journey.router,
        push.router,
        segments.router,
        qa.router,
        kb_learning.router,
        insight_commands.router,
        fallback.router,
    ]
