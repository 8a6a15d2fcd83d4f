"""The Python API for flow steps: actions and guards, registered by name.

    steps = StepRegistry()

    @steps.action("send_sample")
    async def send_sample(run: StepRun) -> StepResult:
        return await run.push(run.t("my.sample_text"), Category.AFTER_SALES)

    app = App(config, provide=[steps])

A flow YAML then says ``do: send_sample``. Guards return a bool and are
named by ``guard:`` in a step or a cadence flow. The registry is one object
owned by the app (in its services) and handed to the engine; the built-ins
are added to it beside yours (yours win on a name clash). ``warmline run``
finds yours through ``flows.steps`` in the config (see :mod:`flows.plugins`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.adapter import DATA_BUDGET
from bot.events import Button
from flows.definition import FlowDef, StepDef
from flows.state import JourneyState
from push.contract import Category, Decision, Outcome
from storage.records import MemberRecord

Keyboard = tuple[tuple[Button, ...], ...]

if TYPE_CHECKING:
    from flows.engine import FlowEngine


#: the gate's reason for a key it has already delivered
DUPLICATE = "duplicate"
#: a deferred step is offered again no sooner than this (never within the same tick)
RETRY_FLOOR = timedelta(minutes=1)
#: keyboards the engine keeps, by step, language and instance, before it starts over
KEPT_KEYBOARDS = 4096


class Status(StrEnum):
    DONE = "done"
    DEFERRED = "deferred"
    DROPPED = "dropped"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class StepResult:
    status: Status
    until: datetime | None = None
    reason: str | None = None

    @classmethod
    def of(cls, decision: Decision) -> StepResult:
        # "duplicate": the gate already delivered this key (e.g. from its waiting line)
        if decision.outcome is Outcome.SENT or decision.reason == DUPLICATE:
            return cls(Status.DONE)
        if decision.outcome is Outcome.DEFERRED:
            return cls(Status.DEFERRED, decision.until, decision.reason)
        return cls(Status.DROPPED, None, decision.reason)


DONE = StepResult(Status.DONE)
SKIPPED = StepResult(Status.SKIPPED)


@dataclass(slots=True)
class StepRun:
    """Everything one step execution may use; ``reply`` means the member just pressed
    a button that led here, so messages are answers (no push gate)."""

    engine: FlowEngine
    flow: FlowDef
    step: StepDef
    member: MemberRecord
    state: JourneyState | None
    now: datetime
    key: str
    payload: dict[str, Any] = field(default_factory=dict)
    reply: bool = False
    #: answers to the member's button press (text, buttons), sent by the caller
    replies: list[tuple[str, Keyboard]] = field(default_factory=list)
    #: trust-signal increments, written in one batch by the engine after the steps ran
    bumps: dict[tuple[int, str], int] = field(default_factory=dict)
    #: tags to add per member, written in one batch by the engine after the steps ran
    tags: dict[int, list[str]] = field(default_factory=dict)
    #: past this the step's message is stale: the gate drops what it cannot send by then
    deadline: datetime | None = None

    def signal(self, name: str, n: int = 1) -> None:
        key = (self.member.id, name)
        self.bumps[key] = self.bumps.get(key, 0) + n

    def tag(self, names: Iterable[str]) -> None:
        mine = self.tags.setdefault(self.member.id, [])
        mine.extend(name for name in names if name not in mine)

    def t(self, key: str, **values: Any) -> str:
        return self.engine.text(self.member, key, **values)

    def buttons(self, instance: str) -> tuple[tuple[Button, ...], ...]:
        """The step's buttons for ``instance`` in the member's language: the same for
        every member with that language, so the engine keeps them (every value
        message has a row of them)."""
        step, lang = self.step, self.engine.lang_of(self.member)
        kept, key = self.engine.keyboards, (id(step), self.flow.name, lang, instance)
        found = kept.get(key)
        if found is not None and found[0] is step:  # holding the step keeps its id its own
            return found[1]
        row = tuple(
            Button(
                self.t(button.label),
                data=choice_data(self.flow.name, step.id, button.choice, instance),
            )
            for button in step.buttons
        )
        keyboard = (row,) if row else ()
        if len(kept) >= KEPT_KEYBOARDS:
            kept.clear()
        kept[key] = (step, keyboard)
        return keyboard

    async def push(
        self,
        text: str,
        category: Category,
        buttons: tuple[tuple[Button, ...], ...] = (),
        key: str | None = None,
        expires_at: datetime | None = None,
    ) -> StepResult:
        if self.reply:
            self.replies.append((text, buttons))
            return DONE
        if self.deadline is not None:
            expires_at = min(expires_at or self.deadline, self.deadline)
        return StepResult.of(
            await self.engine.submit(
                self.member, text, key or self.key, category, buttons, expires_at
            )
        )


Action = Callable[[StepRun], Awaitable[StepResult]]
Guard = Callable[[StepRun], bool]


#: room for our data once the core signs it, on every platform with buttons
MAX_DATA = DATA_BUDGET


def choice_data(flow: str, step: str, choice: str, instance: str) -> str:
    """Callback data of a flow button; a long instance is replaced by a short digest."""
    data = f"jy:{flow}:{step}:{choice}:{instance}"
    if len(data.encode()) <= MAX_DATA:
        return data
    digest = hashlib.blake2s(instance.encode(), digest_size=5).hexdigest()
    return f"jy:{flow}:{step}:{choice}:{digest}"


def parse_choice(data: str) -> tuple[str, str, str, str] | None:
    parts = data.split(":")
    if len(parts) != 5 or parts[0] != "jy":
        return None
    return parts[1], parts[2], parts[3], parts[4]


class StepRegistry:
    """Actions and guards by name; one per app, passed down to its flow engine."""

    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}
        self._guards: dict[str, Guard] = {}

    def action(self, name: str) -> Callable[[Action], Action]:
        def register(func: Action) -> Action:
            self._actions[name] = func
            return func

        return register

    def guard(self, name: str) -> Callable[[Guard], Guard]:
        def register(func: Guard) -> Guard:
            self._guards[name] = func
            return func

        return register

    def actions(self) -> dict[str, Action]:
        return dict(sorted(self._actions.items()))

    def guards(self) -> dict[str, Guard]:
        return dict(sorted(self._guards.items()))

    def get_action(self, name: str) -> Action:
        try:
            return self._actions[name]
        except KeyError:
            raise LookupError(
                f"no flow action {name!r}; known: {', '.join(sorted(self._actions))}"
            ) from None

    def get_guard(self, name: str) -> Guard:
        try:
            return self._guards[name]
        except KeyError:
            raise LookupError(
                f"no flow guard {name!r}; known: {', '.join(sorted(self._guards))}"
            ) from None

    def check(self, flows: dict[str, FlowDef]) -> None:
        """Fail at start-up, not at 3 a.m., when a flow names an unknown action or guard."""
        for flow in flows.values():
            if flow.guard:
                self.get_guard(flow.guard)
            for step in flow.steps:
                self.get_action(step.do)
                if step.guard:
                    self.get_guard(step.guard)

    def add_builtins(self) -> StepRegistry:
        """The playbook's actions and guards, where no action or guard of that name is
        registered yet (a custom one may replace a built-in)."""
        from flows.actions import register_builtins

        builtins = StepRegistry()
        register_builtins(builtins)
        for name, action in builtins._actions.items():
            self._actions.setdefault(name, action)
        for name, guard in builtins._guards.items():
            self._guards.setdefault(name, guard)
        return self

    @classmethod
    def default(cls) -> StepRegistry:
        """A new registry holding the built-ins only."""
        return cls().add_builtins()
