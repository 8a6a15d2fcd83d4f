"""``warmline report``, ``warmline dashboard`` and ``warmline insight hash-password``."""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bot.clock import SystemClock
from bot.commandline import ConfigOption, err, load_or_exit, setup_logging
from bot.errors import WarmlineError
from bot.extras import INSIGHT, require
from insight.config import insight_config

insight_app: typer.Typer = typer.Typer(no_args_is_help=True, help="Merchant insight helpers.")

DateOption = Annotated[
    datetime | None,
    typer.Option(formats=["%Y-%m-%d"], help="Inclusive calendar day (UTC), e.g. 2026-01-31."),
]


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def report(
    config: ConfigOption = None,
    from_: Annotated[
        datetime | None,
        typer.Option(
            "--from",
            formats=["%Y-%m-%d"],
            help="First join day (UTC); default 90 days ago (or before the last join, when the data is older).",
        ),
    ] = None,
    to: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Last join day (UTC); default today."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path(
        "report.html"
    ),
    csv: Annotated[
        Path | None,
        typer.Option("--csv", help="Also write every table as CSV into this directory."),
    ] = None,
) -> None:
    """Write a self-contained HTML report (opens offline) and, optionally, CSV files."""
    cfg = load_or_exit(config)
    try:
        require(INSIGHT, "warmline report")
    except WarmlineError as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(2) from None
    from insight.report import write_report
    from insight.window import Window

    now = SystemClock().now()
    try:
        # neither day given: the default period, chosen with the data in view
        window = (
            None if from_ is None and to is None else Window.from_dates(_day(from_), _day(to), now)
        )
    except ValueError as exc:
        err.print(f"[bold red]Bad period:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    started = time.perf_counter()
    try:
        result = asyncio.run(write_report(cfg, window, out, csv, now=now))
    except (WarmlineError, OSError) as exc:
        err.print(f"[bold red]Cannot write the report:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    console = Console()
    if result.empty is not None:
        hint = result.empty.suggestion()
        more = f" Try --from {hint[0]} --to {hint[1]}." if hint else ""
        err.print(f"[yellow]{result.empty.message()}{more}[/]", highlight=False)
    console.print(
        f"report for {result.window.label()} written to [bold]{result.html}[/] "
        f"in {time.perf_counter() - started:.1f}s",
        highlight=False,
    )
    if result.csv_files:
        console.print(
            f"{len(result.csv_files)} CSV files in [bold]{csv}[/] "
            f"({result.members:,} member{'' if result.members == 1 else 's'})",
            highlight=False,
        )


def dashboard(config: ConfigOption = None) -> None:
    """Serve the merchant dashboard alone (at insight.dashboard.listen)."""
    from insight.serve import serve_dashboard

    cfg = load_or_exit(config)
    setup_logging(cfg)
    if not insight_config(cfg).dashboard.admins:
        err.print(
            "[yellow]No dashboard admins are configured:[/] add insight.dashboard.admins "
            "(hash passwords with `warmline insight hash-password`)",
            highlight=False,
        )
    try:
        asyncio.run(serve_dashboard(cfg))
    except WarmlineError as exc:
        err.print(f"[bold red]Cannot start:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None


@insight_app.command("hash-password")
def hash_password_command(
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, help="Asked for when omitted."
        ),
    ],
) -> None:
    """Print a password hash for insight.dashboard.admins[].password_hash."""
    from insight.passwords import hash_password

    try:
        Console().print(hash_password(password), highlight=False, soft_wrap=True)
    except ValueError as exc:
        err.print(f"[bold red]{escape(str(exc))}[/]", highlight=False)
        raise typer.Exit(2) from None


def register(cli: typer.Typer) -> None:
    cli.command()(report)
    cli.command()(dashboard)
    cli.add_typer(insight_app, name="insight")
