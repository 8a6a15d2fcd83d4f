"""What one batch of steps writes: counters and tags they asked for, and the
journey fields they changed, each written once after the batch (grouped
UPDATEs, not one statement per member)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from flows.state import ENGINE_FIELDS, JourneyState, JourneyStore


@dataclass(slots=True)
class StepBatch:
    bumps: dict[tuple[int, str], int] = field(default_factory=dict)
    tags: dict[int, list[str]] = field(default_factory=dict)


_ENGINE_VALUES = attrgetter(*ENGINE_FIELDS)
#: the one list among the engine's fields, copied so that appending to it shows as a change
_SEEN = ENGINE_FIELDS.index("seen")


def snapshot(state: JourneyState) -> tuple[Any, ...]:
    """The engine's fields of a journey, to compare after the batch."""
    values = list(_ENGINE_VALUES(state))
    values[_SEEN] = list(values[_SEEN])
    return tuple(values)


async def save_changed(
    journeys: JourneyStore, states: Iterable[JourneyState], before: dict[int, tuple[Any, ...]]
) -> None:
    """Write back only the fields this pass changed, grouped into batched UPDATEs."""
    groups: dict[tuple[str, ...], list[JourneyState]] = {}
    for state in states:
        old = before.get(state.member_id)
        new = snapshot(state)
        if old == new:
            continue
        changed = (
            tuple(name for name, a, b in zip(ENGINE_FIELDS, old or (), new, strict=False) if a != b)
            if old is not None
            else ENGINE_FIELDS
        )
        if changed:
            groups.setdefault(changed, []).append(state)
    for names, group in groups.items():
        await journeys.save(group, names)
