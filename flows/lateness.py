"""How late a step may still run, and the pacing of the backlog after downtime.

A step planned for ``due`` and run at ``now`` is *stale* when ``now`` is past
``due + bound``: its message would arrive when it no longer makes sense (a care
tip days after the tea was opened), so it is skipped and recorded with reason
``stale``. Work that is late but not stale (due more than
``flows.catch_up.late_after`` ago) is the backlog of a downtime: it is released
at ``flows.catch_up.per_minute``, oldest first, so a restart never fires it all
at once; the push gate's caps still hold per member.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.errors import ConfigError
from bot.scheduling.catchup import CatchUp
from flows.config import FlowsConfig
from push.contract import Category

__all__ = ["STALE", "CatchUp", "bound_of", "check_kinds", "deadline", "is_stale", "next_in_phase"]
from flows.definition import StepDef
from push.rules import Reason

if TYPE_CHECKING:
    from flows.steps import StepRegistry

#: the reason recorded for a step skipped as too late
STALE = Reason.STALE
#: the timer payload entry that keeps a step's first planned time across retries
PLANNED = "planned_at"
#: the payload / pending entry with the time a content slot was due
SLOT = "slot_at"


def bound_of(config: FlowsConfig, step: StepDef) -> timedelta:
    """The step's own ``lateness`` or its kind's; ``0`` means no bound."""
    return step.lateness if step.lateness is not None else config.bound(step.do)


def is_stale(config: FlowsConfig, step: StepDef, due: datetime, now: datetime) -> bool:
    bound = bound_of(config, step)
    return bound > timedelta(0) and now > due + bound


def deadline(config: FlowsConfig, step: StepDef, due: datetime) -> datetime | None:
    """When the step's message stops making sense (None: never)."""
    bound = bound_of(config, step)
    return due + bound if bound > timedelta(0) else None


def check_kinds(config: FlowsConfig, registry: StepRegistry) -> None:
    """``flows.lateness`` names step actions: a typo fails at start-up, by its key."""
    for kind in config.lateness:
        if kind == "default":
            continue
        try:
            registry.get_action(kind)
        except LookupError as exc:
            raise ConfigError(f"flows.lateness.{kind}: {exc}") from None


def next_in_phase(slot: datetime, cadence: timedelta, now: datetime) -> datetime:
    """The member's first regular slot after ``now``, on the rhythm of ``slot``
    (a skipped slot does not bunch everyone on the next morning)."""
    if cadence <= timedelta(0):
        return now
    steps = max(1, math.ceil((now - slot) / cadence))
    return slot + steps * cadence


@dataclass(slots=True)
class TickStats:
    """What one engine tick did, lateness included."""

    timers: int = 0
    slots: int = 0
    #: steps and slots skipped as too late to make sense
    stale: int = 0
    #: backlog (late, not stale) left for the next ticks by the catch-up pacing
    held: int = 0


#: what a skipped step would have been, for its ``stale`` record
STALE_CATEGORY = {
    "value_content": Category.VALUE,
    "offer": Category.OFFER,
    "holiday": Category.GREETING,
    "group_welcome": Category.GREETING,
}
