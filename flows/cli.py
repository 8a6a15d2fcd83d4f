"""``warmline flows show`` and ``warmline flows actions``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bot.commandline import ConfigOption, err, load_or_exit
from bot.errors import ConfigError
from flows.config import flows_config

flows_app: typer.Typer = typer.Typer(
    no_args_is_help=True, help="Conversation flows of the member journey."
)


@flows_app.command("show")
def show(
    config: ConfigOption = None,
    name: Annotated[str | None, typer.Argument(help="Only this flow.")] = None,
) -> None:
    """Print each flow as a Mermaid diagram generated from its definition."""
    from flows.definition import load_flows
    from flows.mermaid import to_mermaid

    cfg = load_or_exit(config)
    try:
        flows = load_flows([Path(d) for d in flows_config(cfg).directories])
    except ConfigError as exc:
        err.print(f"[bold red]Invalid flow[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    if name is not None and name not in flows:
        err.print(f"no flow {name!r}; known: {', '.join(flows)}")
        raise typer.Exit(2)
    out = Console(highlight=False, soft_wrap=True)
    for flow in flows.values():
        if name is None or flow.name == name:
            out.print(f"## {flow.name} (order {flow.order}, v{flow.version}): {flow.title}\n")
            out.print("```mermaid\n" + to_mermaid(flow) + "\n```\n", markup=False)


@flows_app.command("actions")
def actions(config: ConfigOption = None) -> None:
    """List the actions, guards and triggers a flow may name, with what each does
    (the built-ins and those of flows.steps), as Markdown."""
    from bot.i18n import Catalog
    from flows.plugins import prepare_flows
    from flows.reference import reference
    from flows.steps import StepRegistry

    cfg = load_or_exit(config)
    registry = StepRegistry()
    try:
        prepare_flows(cfg, Catalog(default=cfg.bot.default_language), registry)
    except ConfigError as exc:
        err.print(f"[bold red]Invalid flow[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    Console(highlight=False, soft_wrap=True).print(reference(registry), markup=False)


def register(cli: typer.Typer) -> None:
    cli.add_typer(flows_app, name="flows")
