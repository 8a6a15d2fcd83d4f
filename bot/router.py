"""Routers: handlers registered per module, selected by event type and filters.

The first handler whose filters all pass handles the event (like aiogram's
observers); the rest are not called.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from bot.context import Context
from bot.events import (
    ButtonPressed,
    Event,
    IncomingMessage,
    JoinRequest,
    MemberJoined,
    MemberLeft,
)

Handler = Callable[[Context], Awaitable[None]]
Filter = Callable[[Context], bool]
Scope = Literal["private", "group", "any"]


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    event_type: type[Event]
    callback: Handler
    filters: tuple[Filter, ...]
    #: shown by /help when set
    command: str | None = None
    summary_key: str | None = None
    admin_only: bool = False
    #: where the command does its job (what /help lists in a DM or a group)
    works_in: Scope = "any"

    def matches(self, ctx: Context) -> bool:
        return all(check(ctx) for check in self.filters)


def in_scope(scope: Scope) -> Filter | None:
    if scope == "private":
        return lambda ctx: ctx.chat.is_private
    if scope == "group":
        return lambda ctx: not ctx.chat.is_private
    return None


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self.specs: list[HandlerSpec] = []

    def _add(self, spec: HandlerSpec) -> None:
        self.specs.append(spec)

    def command(
        self,
        *names: str,
        scope: Scope = "any",
        admin_only: bool = False,
        summary_key: str | None = None,
        works_in: Scope | None = None,
    ) -> Callable[[Handler], Handler]:
        """``/name`` commands; ``admin_only`` restricts to ``bot.admins``. ``works_in``
        (default: ``scope``) is where the command does its job, for /help, when it
        accepts more chats than that only to say where to use it."""
        wanted = frozenset(name.lower() for name in names)

        def is_command(ctx: Context) -> bool:
            event = ctx.event
            return (
                isinstance(event, IncomingMessage)
                and event.command is not None
                and event.command.name in wanted
            )

        checks: list[Filter] = [is_command]
        scope_check = in_scope(scope)
        if scope_check is not None:
            checks.append(scope_check)

        def register(callback: Handler) -> Handler:
            self._add(
                HandlerSpec(
                    IncomingMessage,
                    callback,
                    tuple(checks),
                    command=names[0],
                    summary_key=summary_key,
                    admin_only=admin_only,
                    works_in=works_in or scope,
                )
            )
            return callback

        return register

    def message(self, *filters: Filter, scope: Scope = "any") -> Callable[[Handler], Handler]:
        """Any incoming message (commands included) that passes ``filters``."""
        scope_check = in_scope(scope)
        checks = (*filters, scope_check) if scope_check is not None else filters
        return self._on(IncomingMessage, checks)

    def button(self, prefix: str) -> Callable[[Handler], Handler]:
        """Button presses whose data starts with ``prefix``."""

        def has_prefix(ctx: Context) -> bool:
            event = ctx.event
            return isinstance(event, ButtonPressed) and event.data.startswith(prefix)

        return self._on(ButtonPressed, (has_prefix,))

    def joined(self, *filters: Filter) -> Callable[[Handler], Handler]:
        return self._on(MemberJoined, filters)

    def left(self, *filters: Filter) -> Callable[[Handler], Handler]:
        return self._on(MemberLeft, filters)

    def join_request(self, *filters: Filter) -> Callable[[Handler], Handler]:
        return self._on(JoinRequest, filters)

    def _on(
        self, event_type: type[Event], filters: tuple[Filter, ...]
    ) -> Callable[[Handler], Handler]:
        def register(callback: Handler) -> Handler:
            self._add(HandlerSpec(event_type, callback, tuple(filters)))
            return callback

        return register


@dataclass(frozen=True, slots=True)
class IndexedCommand:
    command: str
    summary_key: str
    admin_only: bool
    works_in: Scope

    def works_for(self, private: bool) -> bool:
        return self.works_in == "any" or (self.works_in == "private") == private


@dataclass(frozen=True, slots=True)
class CommandIndex:
    """Commands with a summary (for /help), gathered once at start-up."""

    entries: tuple[IndexedCommand, ...]

    @classmethod
    def of(cls, specs: list[HandlerSpec]) -> CommandIndex:
        return cls(
            tuple(
                IndexedCommand(spec.command, spec.summary_key, spec.admin_only, spec.works_in)
                for spec in specs
                if spec.command is not None and spec.summary_key is not None
            )
        )
