"""``warmline broadcast`` and ``warmline push pause|resume|decisions``.

These commands open the bot's storage and send through its adapter without
receiving updates, so they can run next to the workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.commandline import ConfigOption, load_or_exit
from bot.errors import WarmlineError

if TYPE_CHECKING:
    from bot.app import App

push_app = typer.Typer(no_args_is_help=True, help="Push gate: kill switch and decisions.")
T = TypeVar("T")


@asynccontextmanager
async def _opened(config: Path | None) -> AsyncIterator[App]:
    """The App's services and scheduler job store, without receiving updates."""
    from bot.adapter import Closable
    from bot.app import App
    from bot.scheduling.runner import JobScheduler
    from bot.schema import ensure_schema

    app = App(load_or_exit(config))
    await ensure_schema(app.database)
    scheduler = app.services.find(JobScheduler)
    if scheduler is not None:
        await scheduler.start(run_jobs=False)  # deferred pushes are stored for the workers
    try:
        yield app
    finally:
        from push.gate import Gate

        await app.services.require(Gate).flush_decisions()
        if scheduler is not None:
            await scheduler.stop()
        await app.stop()
        if isinstance(app.adapter, Closable):  # never started, so stop() left it open
            await app.adapter.close()


def _run(config: Path | None, body: Callable[[App], Awaitable[T]]) -> T:
    async def main() -> T:
        async with _opened(config) as app:
            return await body(app)

    try:
        return asyncio.run(main())
    except WarmlineError as exc:
        Console(stderr=True).print(f"[bold red]Error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None


def broadcast(
    segment: Annotated[
        str,
        typer.Option(
            "--segment",
            "-s",
            help="Audience: all, a saved segment, or a filter such as tag:vip or "
            "'tag:vip !tier:core'.",
        ),
    ],
    text: Annotated[str, typer.Option("--text", "-t", help="The message.")],
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what the gate would decide.")
    ] = False,
) -> None:
    """Broadcast TEXT to a segment through the push gate, with a progress bar."""
    from push.campaigns import Campaigns
    from push.campaigns import Progress as CampaignProgress
    from push.report import describe, waiting_until
    from push.segments import UnknownSegment
    from storage.segment_filter import SegmentError

    console = Console()

    async def body(app: App) -> None:
        campaigns = app.services.require(Campaigns)
        try:
            preview = await campaigns.draft(segment, text, created_by="cli")
        except (UnknownSegment, SegmentError) as exc:
            Console(stderr=True).print(f"[bold red]Error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None
        plan = describe(app.services, None, preview.plan, preview.plan.due)
        console.print(
            f"campaign [bold]{preview.campaign_id}[/]: {preview.audience} members in "
            f"segment [bold]{preview.described}[/]; if sent now: {plan}",
            highlight=False,
        )
        if dry_run:
            await campaigns.store.set_status(preview.campaign_id, "cancelled", expect="draft")
            console.print("dry run: nothing was sent")
            return
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("broadcasting", total=preview.audience)

            async def update(progress: CampaignProgress) -> None:
                bar.update(task, completed=progress.done, total=progress.total)

            final = await campaigns.run(preview.campaign_id, update, every=0.25)
        due = await waiting_until(app.services, preview.campaign_id)
        console.print(f"done: {describe(app.services, None, final.tally, due)}", highlight=False)

    _run(config, body)


@push_app.command("pause")
def pause(config: ConfigOption = None) -> None:
    """Kill switch ON: no proactive message leaves any worker."""
    from push.gate import Gate

    _run(config, lambda app: app.services.require(Gate).pause(by="cli"))
    Console().print("push kill switch [bold red]ON[/]")


@push_app.command("resume")
def resume(config: ConfigOption = None) -> None:
    """Kill switch OFF: waiting messages are delivered by the scheduler."""
    from push.gate import Gate

    members = _run(config, lambda app: app.services.require(Gate).resume(by="cli"))
    who = "1 member" if members == 1 else f"{members} members"
    Console().print(f"push kill switch [bold green]OFF[/] ({who} had messages waiting)")


@push_app.command("decisions")
def decisions(
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Recent decisions to list.")] = 20,
    hours: Annotated[int, typer.Option("--hours", help="Window of the totals.")] = 24,
) -> None:
    """Recent gate decisions and totals by outcome and reason."""
    from push.gate import Gate

    async def body(app: App) -> None:
        gate = app.services.require(Gate)
        await gate.flush_decisions()
        log = gate.decisions
        since = app.services.clock.now() - timedelta(hours=hours)
        totals, recent = await log.counts(since), await log.recent(limit)
        paused = await gate.is_paused()
        console = Console()
        console.print(f"kill switch: {'[bold red]ON[/]' if paused else 'off'}")
        summary = Table(title=f"last {hours} h")
        for column in ("outcome", "reason", "count"):
            summary.add_column(column)
        for (outcome, reason), count in sorted(totals.items(), key=lambda i: -i[1]):
            summary.add_row(outcome, reason or "", str(count))
        console.print(summary)
        table = Table(title=f"{limit} most recent")
        for column in ("time (UTC)", "member", "key", "category", "outcome", "reason", "until"):
            table.add_column(column)
        for row in recent:
            table.add_row(
                f"{row.at:%Y-%m-%d %H:%M:%S}",
                str(row.member_id or row.chat_key),
                row.message_key,
                row.category,
                row.outcome,
                row.reason or "",
                f"{row.until:%Y-%m-%d %H:%M}" if row.until else "",
            )
        console.print(table)

    _run(config, body)


def register(cli: typer.Typer) -> None:
    cli.command()(broadcast)
    cli.add_typer(push_app, name="push")
