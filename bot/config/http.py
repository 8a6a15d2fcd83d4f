"""``http:`` — the one HTTP server the features share (platforms' webhooks and callbacks,
order hooks, the dashboard, metrics, health checks): where it listens and how it treats
slow clients.

It used to live under a platform's settings (each declares its old keys,
``Platform.http_aliases``) and the bot's (``bot.http.*``). Those keys are still read as
aliases, with a deprecation warning; a key set in both places must have the same value
in both.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field, field_validator

from bot.config.checks import KeyProblem, ListenAddress
from bot.config.duration import Duration
from bot.config.section import Section

#: the env variable that overrides ``http.listen`` (N workers, one config file)
LISTEN_ENV = "WARMLINE_LISTEN"


class HttpLimitsConfig(Section):
    """The server's limits on slow or idle clients."""

    #: a request's head must arrive within this of its first byte
    header_timeout: Duration = timedelta(seconds=10)
    #: and its body within this
    body_timeout: Duration = timedelta(seconds=30)
    #: an idle kept-alive connection is closed after this
    idle_timeout: Duration = timedelta(seconds=15)
    #: open connections at most (kept below the open-file limit); at the cap the
    #: oldest connection still waiting for a request head is closed
    max_connections: int = Field(default=512, ge=16, le=100_000)

    @field_validator("header_timeout", "body_timeout", "idle_timeout")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be positive (e.g. 10s)")
        return value


class HttpConfig(HttpLimitsConfig):
    """The shared HTTP server: its address (``WARMLINE_LISTEN`` overrides it) and limits."""

    listen: ListenAddress = "127.0.0.1:8080"


def merge_alias(http: HttpConfig, name: str, value: Any, old_key: str) -> str:
    """Carry a deprecated key's value to ``http.<name>``; the warning to show.

    Both set with different values is an error naming both keys."""
    new_key = f"http.{name}"
    if name in http.model_fields_set and getattr(http, name) != value:
        raise KeyProblem(
            new_key,
            f"is {getattr(http, name)!r} but its old name {old_key} is {value!r}; "
            f"set only {new_key}",
        )
    setattr(http, name, value)
    return f"{old_key} is deprecated: it is read as {new_key}; move it there"
