"""Explicit notifications the core emits, for observers such as metrics.

A feature that wants to count something the core does subscribes to a
:class:`Signal` instead of reading log text: rewording a log line can then
never silence a metric. Each :class:`~bot.app.App` has its own
:class:`Signals`, so two bots in one process never share listeners.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger("warmline.signals")

T = TypeVar("T")


class Signal(Generic[T]):
    """Listeners called in order with each emitted value; a failing listener is
    logged and never stops the caller or the other listeners."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Callable[[T], None]] = []

    def connect(self, listener: Callable[[T], None]) -> Callable[[], None]:
        """Subscribe ``listener``; returns the function that unsubscribes it."""
        self._listeners.append(listener)

        def disconnect() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return disconnect

    @property
    def heard(self) -> bool:
        """Whether anyone listens (emitters may skip building the value)."""
        return bool(self._listeners)

    def emit(self, value: T) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(value)
            except Exception:
                log.exception("a listener of %s failed", self.name)


#: why a platform call is tried again
RATE_LIMITED = "rate_limited"
TRANSIENT = "transient"


@dataclass(frozen=True, slots=True)
class TagChange:
    """Tags a member gained or lost (flows, buttons, admins' ``/tag``)."""

    member_id: int
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass
class Signals:
    #: a platform call answered 429 (``rate_limited``) or failed transiently
    #: (``transient``: 5xx, network) and is tried again
    platform_retry: Signal[str] = field(default_factory=lambda: Signal("platform_retry"))
    #: a member's tags changed (a platform with tags of its own mirrors them)
    tags_changed: Signal[TagChange] = field(default_factory=lambda: Signal("tags_changed"))
