"""Declarative, versioned flow definitions (YAML) and their validation.

A flow is started by a trigger and is a list of steps. A step runs an
*action* (built in, or registered from Python with :class:`flows.steps.StepRegistry`)
``after`` a delay from the flow's start; a step with ``on_choice: true`` runs
only when a button of an earlier step points to it (``goto``). A ``guard``
names a condition that must hold for the step (or, for cadence flows, the
flow) to run.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import Field, PrivateAttr, ValidationError, model_validator

from bot.adapter import DATA_BUDGET
from bot.config.duration import Duration
from bot.config.safe_yaml import safe_load
from bot.config.section import Section
from bot.errors import ConfigError

log = logging.getLogger("warmline.flows")

Trigger = Literal["start", "group_join", "cadence", "question", "order", "daily"]
#: what starts a flow of each trigger, and what its steps find in the payload
TRIGGERS: dict[str, str] = {
    "start": "the member sends /start in a DM (the deep link's source or referrer is "
    "already recorded)",
    "group_join": "the member joins a group (payload: chat_id)",
    "cadence": "a content slot falls due (every flows.content.cadence, at content.send_at "
    "member-local); the highest-priority cadence flow whose guard holds takes it",
    "question": "the knowledge base answered one of the member's questions",
    "order": "an order is recorded (/order or POST /hooks/orders; payload: sku, amount, "
    "order_id, product)",
    "daily": "once a day: birthdays and flows.greetings.holidays (payload: occasion)",
}
assert set(TRIGGERS) == set(get_args(Trigger))
PLAYBOOK = Path(__file__).with_name("playbook")


class ButtonDef(Section):
    choice: str = Field(pattern=r"^[a-z0-9_]{1,24}$")
    #: catalog key of the button label
    label: str
    #: step to run when pressed
    goto: str | None = None


class StepDef(Section):
    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    #: action name: message, value_content, offer, referral_invite, handoff, tag, repurchase, …
    do: str
    after: Duration = timedelta(0)
    #: ``after`` counts from the end of the product's consumption cycle instead of the start
    from_cycle_end: bool = False
    on_choice: bool = False
    guard: str | None = None
    #: catalog key of the message text
    text: str | None = None
    category: str | None = None
    buttons: list[ButtonDef] = Field(default_factory=list)
    #: free parameters for the action (e.g. ``tag: gift-buyer``)
    params: dict[str, str] = Field(default_factory=dict)
    #: how late this step may still run (else ``flows.lateness.<do>``); 0: no bound
    lateness: Duration | None = None


class FlowDef(Section):
    name: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    #: among flows with the same name, the highest version is the one that runs
    version: int = Field(ge=1)
    #: where the flow stands in the playbook (1 greeting … 5 after-sales): the order in
    #: which flows are listed and drawn; ``stage:`` is read as this (deprecated: in
    #: journeys "stage" is a member's funnel state)
    order: int = Field(ge=1, le=9)
    title: str
    trigger: Trigger
    #: among cadence flows the highest priority whose guard holds takes the slot
    priority: int = 0
    guard: str | None = None
    #: false: steps due at once run without timer rows (frequent triggers such as answered
    #: questions, whose steps send nothing and need no restart safety)
    durable: bool = True
    steps: list[StepDef] = Field(min_length=1)
    #: the file it was read from (None for a flow built in code)
    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> str:
        return str(self._source) if self._source is not None else f"flow {self.name}"

    @model_validator(mode="before")
    @classmethod
    def _stage_is_order(cls, data: object) -> object:
        if isinstance(data, dict) and "stage" in data:
            if "order" in data:
                raise ValueError("give order (stage is its deprecated name), not both")
            data = {("order" if key == "stage" else key): value for key, value in data.items()}
            log.warning(
                "flow %s: 'stage' is deprecated, it is read as 'order'; rename it",
                data.get("name", "?"),
            )
        return data

    @model_validator(mode="after")
    def _gotos_exist(self) -> FlowDef:
        ids = [step.id for step in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"step ids must be unique in a flow (got {ids})")
        for step in self.steps:
            for button in step.buttons:
                # jy:<flow>:<step>:<choice>:<10-char digest> must fit the signed callback data
                if len(f"jy:{self.name}:{step.id}:{button.choice}:") + 10 > DATA_BUDGET:
                    raise ValueError(
                        f"step {step.id}: button {button.choice}: flow, step and choice names "
                        "are too long together for a button (keep them under 30 characters)"
                    )
                if button.goto is not None and button.goto not in ids:
                    raise ValueError(
                        f"step {step.id}: button {button.choice} goes to unknown step {button.goto!r}"
                    )
        return self

    def step(self, step_id: str) -> StepDef:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"flow {self.name} has no step {step_id!r}")

    @property
    def timed_steps(self) -> list[StepDef]:
        return [step for step in self.steps if not step.on_choice]


def load_flow(path: Path) -> FlowDef:
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        flow = FlowDef.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'flow'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
    flow._source = path
    return flow


def load_flows(directories: list[Path]) -> dict[str, FlowDef]:
    """The playbook's flows and each directory's; of flows with the same name the highest
    ``version`` runs (two of that version are an error naming both files)."""
    found: dict[str, list[FlowDef]] = {}
    for directory in [PLAYBOOK, *directories]:
        if not directory.is_dir():
            raise ConfigError(f"{directory}: flow directory not found")
        for path in sorted(directory.glob("*.yaml")):
            flow = load_flow(path)
            found.setdefault(flow.name, []).append(flow)
    flows: dict[str, FlowDef] = {}
    for name, versions in found.items():
        versions.sort(key=lambda flow: -flow.version)
        best = versions[0]
        if len(versions) > 1 and versions[1].version == best.version:
            raise ConfigError(
                f"{versions[1].source}: flow {name} v{best.version} is also defined in "
                f"{best.source}; give the one that should run a higher version"
            )
        for other in versions[1:]:
            log.info(
                "%s: flow %s v%d is replaced by v%d",
                other.source,
                name,
                other.version,
                best.version,
            )
        flows[name] = best
    return dict(sorted(flows.items(), key=lambda item: (item[1].order, item[0])))
