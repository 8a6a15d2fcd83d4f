"""Mermaid flowcharts generated from flow definitions (``warmline flows show``)."""

from __future__ import annotations

from datetime import timedelta

from bot.config.duration import format_duration
from flows.definition import FlowDef, StepDef


def _label(text: str) -> str:
    return text.replace('"', "'")


def _when(step: StepDef) -> str:
    if step.from_cycle_end:
        extra = f" + {format_duration(step.after)}" if step.after > timedelta(0) else ""
        return f"before the product cycle ends{extra}"
    if step.after > timedelta(0):
        return f"after {format_duration(step.after)}"
    return "at once"


def to_mermaid(flow: FlowDef) -> str:
    lines = [
        "flowchart TD",
        f"    %% {flow.name} v{flow.version} — order {flow.order}: {_label(flow.title)}",
        f'    trigger(["{flow.trigger}"])',
    ]
    entry = "trigger"
    if flow.guard:
        lines.append(f'    guard{{"{flow.guard}?"}}')
        lines.append("    trigger --> guard")
        entry = "guard"
    for step in flow.steps:
        detail = f"{step.do}" + (f"<br/>{step.text}" if step.text else "")
        detail += f"<br/>[{step.category}]" if step.category else ""
        lines.append(f'    {step.id}["{step.id}: {_label(detail)}"]')
    for step in flow.timed_steps:
        source = entry
        if step.guard:
            lines.append(f'    {step.id}_guard{{"{step.guard}?"}}')
            lines.append(f'    {entry} -->|"{_when(step)}"| {step.id}_guard')
            lines.append(f'    {step.id}_guard -->|"yes"| {step.id}')
            continue
        label = (
            "yes"
            if entry == "guard" and not step.after and not step.from_cycle_end
            else _when(step)
        )
        lines.append(f'    {source} -->|"{label}"| {step.id}')
    for step in flow.steps:
        for button in step.buttons:
            if button.goto:
                lines.append(f'    {step.id} -->|"{button.choice}"| {button.goto}')
    return "\n".join(lines)
