"""Group moderation: welcome and rules, join captcha, anti-flood, locks and
filters, warnings with escalation, mute/ban/kick, reports, audit log.

The guard (a middleware) sees every group event first; these routers come first
(order 10) so moderation commands and captcha buttons are never
taken by another feature's handler.
"""

from __future__ import annotations

from bot.router import Router
from moderation import captcha, commands, modlog

routers: list[Router] = [captcha.router, commands.router, modlog.router]

__all__ = ["routers"]
