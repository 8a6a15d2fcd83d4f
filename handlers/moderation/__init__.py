"""Group moderation: welcome and rules, join captcha, anti-flood, locks and
filters, warnings with escalation, mute/ban/kick, reports, audit log.

The guard (a middleware) sees every group event first; these routers come first
in ``default_routers`` so moderation commands and captcha buttons are never
taken by another feature's handler.
"""

from __future__ import annotations

from bot.router import Router
from handlers.moderation import captcha, commands

routers: list[Router] = [captcha.router, commands.router]

__all__ = ["routers"]
