"""Neutral delivery errors that adapters raise instead of library exceptions."""

from __future__ import annotations


class WarmlineError(Exception):
    """Base class for errors Warmline raises on purpose."""


class ConfigError(WarmlineError):
    """Invalid configuration: the message names the key (and file/line)."""


class DeliveryError(WarmlineError):
    """A platform call failed for good (bad request, unknown chat, …)."""


class RecipientUnreachable(DeliveryError):
    """The member blocked the bot or left: stop trying them (HTTP 403)."""


class WindowClosed(DeliveryError):
    """The platform's message window with this member is closed or used up
    (``limits.window``): nothing was sent, nothing was attempted."""


class TransientError(WarmlineError):
    """Network trouble or 5xx: worth retrying with backoff."""


class RateLimited(TransientError):
    """The platform asked us to wait ``retry_after`` seconds (HTTP 429)."""

    def __init__(self, retry_after: float, message: str = "") -> None:
        super().__init__(message or f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after
