"""How a shop's own steps and texts reach the flow engine, checked before it starts.

Custom actions and guards are registered on one :class:`~flows.steps.StepRegistry`
that the app owns (it lives in the app's services) and hands to its flow engine.
Code that builds the app passes its registry in: ``App(config, provide=[steps])``.
``warmline run`` finds them through ``flows.steps`` in the config: each entry is
``package.module:function`` (or ``package.module``, meaning its ``register``), called
with the registry. A custom flow folder may carry its own texts in
``<folder>/locales/<lang>/*.yaml``; every text key a flow names must have a text in the
bot's default language, or loading fails naming the key and the flow's file.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

from bot.config.model import WarmlineConfig
from bot.errors import ConfigError
from bot.i18n import Catalog
from flows.config import flows_config
from flows.definition import FlowDef, load_flows
from flows.lateness import check_kinds
from flows.steps import StepRegistry

#: the folder of a custom flow directory that holds its texts
LOCALES = "locales"


def load_step_plugins(registry: StepRegistry, specs: Iterable[str]) -> StepRegistry:
    """Call each ``package.module[:function]`` (or ``file.py[:function]``) of
    ``flows.steps`` with the registry."""
    for number, spec in enumerate(specs):
        module_name, _, attribute = spec.rpartition(":") if _has_function(spec) else (spec, "", "")
        key = f"flows.steps.{number}"
        try:
            module = _import(module_name)
        except (ImportError, OSError) as exc:
            raise ConfigError(f"{key}: cannot import {module_name!r} ({exc})") from None
        register = getattr(module, attribute or "register", None)
        if not callable(register):
            raise ConfigError(
                f"{key}: {module_name} has no function {attribute or 'register'!r} "
                "taking the step registry"
            )
        plugin: Callable[[StepRegistry], object] = register
        plugin(registry)
    return registry


def _has_function(spec: str) -> bool:
    head, colon, tail = spec.rpartition(":")
    return bool(colon) and tail.isidentifier() and (head.endswith(".py") or "/" not in head)


def _import(name: str) -> ModuleType:
    if not name.endswith(".py"):
        return importlib.import_module(name)
    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location(f"warmline_steps.{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_flow_texts(catalog: Catalog, directories: Iterable[Path]) -> None:
    """Add each flow folder's ``locales/<lang>/*.yaml`` to the app's catalog."""
    for directory in directories:
        folder = directory / LOCALES
        if folder.is_dir():
            try:
                catalog.extend(folder)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None


def check_texts(flows: dict[str, FlowDef], catalog: Catalog) -> None:
    """Every text and button label a flow names has a text in the default language."""
    for flow in flows.values():
        for step in flow.steps:
            keys = [("text", step.text)] if step.text else []
            keys += [(f"button {button.choice}", button.label) for button in step.buttons]
            for what, key in keys:
                if catalog.has(key):
                    continue
                elsewhere = [lang for lang in sorted(catalog.languages) if catalog.has(key, lang)]
                problem = (
                    f"has no text in {catalog.default} (the default language), only in "
                    f"{', '.join(elsewhere)}"
                    if elsewhere
                    else f"is in no catalog (bot/i18n/locales, or {LOCALES}/<lang>/*.yaml "
                    "beside the flow)"
                )
                raise ConfigError(
                    f"{flow.source}: step {step.id}: {what}: text key {key!r} {problem}"
                )


def prepare_flows(
    config: WarmlineConfig, catalog: Catalog, registry: StepRegistry
) -> dict[str, FlowDef]:
    """Everything the engine needs, checked: the registry gets the config's step plugins
    and the built-ins, the catalog the flow folders' texts; the flows are loaded and every
    action, guard and text they name must exist."""
    directories = [Path(d) for d in flows_config(config).directories]
    load_step_plugins(registry, flows_config(config).steps).add_builtins()
    load_flow_texts(catalog, directories)
    flows = load_flows(directories)
    for flow in flows.values():
        try:
            registry.check({flow.name: flow})
        except LookupError as exc:
            raise ConfigError(f"{flow.source}: {exc}") from None
    check_kinds(flows_config(config), registry)
    check_texts(flows, catalog)
    return flows
