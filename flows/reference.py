"""The generated reference of what a flow YAML may name: actions (``do:``), guards
(``guard:``) and triggers (``trigger:``), from the registry the bot runs with and the
docstrings of its functions (``warmline flows actions``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from flows.definition import TRIGGERS
from flows.steps import StepRegistry

#: the step keys every action may read, for the reference's preamble
STEP_KEYS = (
    "`after` (delay from the flow's start), `guard`, `text` (catalog key), `category` "
    "(push category), `buttons` (`choice`, `label`, `goto`), `params` (free key/values), "
    "`lateness`"
)


def reference(registry: StepRegistry) -> str:
    """Markdown: one line per action, guard and trigger, with where it comes from."""
    lines = ["# Flow reference", "", f"Every step may set {STEP_KEYS}.", ""]
    lines += ["## Actions (`do:`)", ""]
    lines += [_entry(name, func) for name, func in registry.actions().items()]
    lines += ["", "## Guards (`guard:`)", ""]
    lines += [_entry(name, func) for name, func in registry.guards().items()]
    lines += ["", "## Triggers (`trigger:`)", ""]
    lines += [f"- `{name}`: {text}" for name, text in TRIGGERS.items()]
    return "\n".join(lines) + "\n"


def _entry(name: str, func: Callable[..., Any]) -> str:
    doc = " ".join((inspect.getdoc(func) or "(no description)").split())
    origin = f"{func.__module__}:{getattr(func, '__qualname__', name)}"
    return f"- `{name}`: {doc} ({origin})"
