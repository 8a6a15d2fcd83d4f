"""``warmline simulate``: the playbook on synthetic members, on a virtual clock.

A feature of its own that only adds the command (it drives the local adapter,
which the flows package must not import).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.commandline import ConfigOption, err, load_or_exit
from bot.config.duration import parse_duration
from bot.config.model import WarmlineConfig
from bot.errors import WarmlineError
from bot.extras import INSIGHT, missing
from bot.features import Feature
from knowledge.config import knowledge_config
from simulate.outage import parse_outage


def simulation_config(cfg: WarmlineConfig, database_url: str, backend: str) -> WarmlineConfig:
    """The user's playbook and rules, on a throw-away database, with no network and no
    real-time pacing (the clock is virtual)."""
    data: dict[str, Any] = cfg.model_dump(by_alias=True)
    data["bot"]["platform"] = "local"
    data["storage"].update(database_url=database_url, redis_url=None)
    data["flows"]["tick"] = 0
    data["flows"]["orders"]["webhook_secret"] = None  # orders come from the simulation
    telegram = data["bot"].get("telegram")
    if isinstance(telegram, dict):  # its old listen key: read as http.listen, already there
        telegram["webhook"]["listen"] = None
    data["http"]["listen"] = "127.0.0.1:0"  # loopback only, if anything
    if not data["flows"]["products"]:
        data["flows"]["products"] = {"tea": {"name": "Tea sampler", "cycle": "30d"}}
    push = data["push"]
    push["backend"] = backend
    push["scheduler"]["enabled"] = False
    push["pacing"].update(per_second=1e9, per_chat_per_second=1e9, per_group_per_minute=10**9)
    # the simulation ticks hourly: what fell due since the last tick is on time, not backlog
    catch_up = push["catch_up"]
    if parse_duration(catch_up["late_after"]) < timedelta(hours=1):
        catch_up["late_after"] = "1h"
    insight = data.get("insight")
    if isinstance(insight, dict) and isinstance(insight.get("dashboard"), dict):
        insight["dashboard"]["enabled"] = False
    # simulated questions raise trust through the question flow; none is answered, so
    # there is no knowledge base to index
    knowledge = data.get("knowledge")
    if isinstance(knowledge, dict):
        knowledge["enabled"] = False
    simulated = WarmlineConfig.model_validate(data)
    # relative knowledge paths stay relative to the user's config file, not the cwd
    knowledge_config(simulated).bind_to(knowledge_config(cfg).resolve("."))
    return simulated


def scratch_directory() -> str | None:
    """A throw-away database in RAM when the machine has /dev/shm (no fsync to wait for)."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


async def run_simulation(
    cfg: WarmlineConfig,
    members: int,
    days: int,
    seed: int,
    backend: str,
    quiet: bool,
    keep_db: Path | None = None,
    outages: Sequence[tuple[int, timedelta]] = (),
    platform: str = "local",
    batch_pushes: bool = False,
) -> dict[str, Any]:
    """Simulate on a throw-away database, or on ``keep_db`` so that `warmline report`
    and the dashboard can read the synthetic history afterwards."""
    from simulate.history import run_and_measure
    from simulate.world import World

    with tempfile.TemporaryDirectory(prefix="warmline-sim-", dir=scratch_directory()) as tmp:
        path = keep_db if keep_db is not None else Path(tmp) / "simulation.db"
        url = f"sqlite+aiosqlite:///{path.resolve()}"
        simulated = simulation_config(cfg, url, backend)
        world = World(simulated, members, days, seed, outages, platform, batch_pushes)
        # the in-memory gate keeps its sends ledger in memory: a kept history gets it
        # written from the decision log, so the report's push load has it too
        keep_sends = keep_db is not None and backend == "memory"
        if quiet:
            return await run_and_measure(world, keep_sends=keep_sends)
        with Progress(
            TextColumn("simulating"),
            BarColumn(),
            TextColumn("day {task.fields[day]}/{task.fields[days]}"),
            TimeElapsedColumn(),
            console=err,
            refresh_per_second=2,  # drawn by a thread of its own, competing with the run
        ) as bar:
            task = bar.add_task("sim", total=days * 24, day=0, days=days)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, day=done // 24)

            return await run_and_measure(world, keep_sends=keep_sends, progress=progress)


#: measures that must be 0 (``simulate`` exits 1 otherwise)
INVARIANTS = (
    "offers_before_eligible",
    "cap_breaches",
    "quiet_hour_sends",
    "sends_after_optout",
    "stale_sends",
    "sends_outside_platform_window",
    "mass_sends_over_limit",
)


def summary_table(result: dict[str, Any], seconds: float) -> Table:
    table = Table(title=f"Simulation: {result['members']} members × {result['days']} days")
    table.add_column("measure")
    table.add_column("value", justify="right")
    invariants = set(INVARIANTS)
    for key, value in result.items():
        if isinstance(value, list | dict):
            continue
        shown = f"[green]{value}[/]" if key in invariants and value == 0 else str(value)
        if key in invariants and value != 0:
            shown = f"[bold red]{value}[/]"
        table.add_row(key, shown)
    for stage, count in result["funnel"].items():
        table.add_row(f"funnel.{stage}", str(count))
    table.add_row("wall time", f"{seconds:.1f} s")
    return table


def simulate(
    config: ConfigOption = None,
    members: Annotated[int, typer.Option("--members", min=1, help="Synthetic members.")] = 1000,
    days: Annotated[int, typer.Option("--days", min=1, help="Simulated days.")] = 30,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same result).")] = 1,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the result as JSON.")
    ] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write an HTML report.")] = None,
    gate_backend: Annotated[
        str, typer.Option("--gate-backend", help="Push gate counters: memory or sql.")
    ] = "memory",
    keep_db: Annotated[
        Path | None,
        typer.Option(
            "--keep-db",
            help="Keep the simulated history in this new SQLite file (for `warmline report`).",
        ),
    ] = None,
    outage: Annotated[
        list[str] | None,
        typer.Option(
            "--outage",
            help="DAY:DURATION (e.g. 30:48h): the bot is down from the start of that day "
            "for that long; repeatable.",
        ),
    ] = None,
    platform: Annotated[
        str,
        typer.Option(
            "--platform",
            help="Play by this platform's rules: local or wecom (kf's 48 h / 5-message "
            "window; deferrals show as platform_window).",
        ),
    ] = "local",
    batch_pushes: Annotated[
        bool,
        typer.Option(
            "--batch-pushes",
            help="With --platform wecom: what the kf window refuses joins a daily mass "
            "send (bot.wecom.batch_pushes; staff confirm every task at once).",
        ),
    ] = False,
) -> None:
    """Run the playbook on synthetic members on a virtual clock (no network)."""
    if gate_backend not in {"memory", "sql"}:
        err.print("--gate-backend must be memory or sql")
        raise typer.Exit(2)
    if platform not in {"local", "wecom"}:
        err.print(f"--platform must be local or wecom (got {platform!r})", markup=False)
        raise typer.Exit(2)
    if batch_pushes and platform != "wecom":
        err.print("--batch-pushes needs --platform wecom")
        raise typer.Exit(2)
    if keep_db is not None and keep_db.exists():
        err.print(f"--keep-db: {keep_db} already exists; name a new file (nothing is overwritten)")
        raise typer.Exit(2)
    try:
        outages = [parse_outage(spec, days) for spec in outage or ()]
    except ValueError as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(2) from None
    cfg = load_or_exit(config)
    if report is not None and (problem := missing(INSIGHT, "simulate --report")):
        err.print(problem, markup=False, highlight=False)
        raise typer.Exit(2)
    started = time.perf_counter()
    try:
        result = asyncio.run(
            run_simulation(
                cfg,
                members,
                days,
                seed,
                gate_backend,
                quiet=False,
                keep_db=keep_db,
                outages=outages,
                platform=platform,
                batch_pushes=batch_pushes,
            )
        )
    except WarmlineError as exc:
        err.print(f"[bold red]Cannot simulate:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    seconds = time.perf_counter() - started
    Console().print(summary_table(result, seconds))
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if report is not None:
        from simulate.report import write_report

        write_report(result, report)
    bad = [key for key in INVARIANTS if result[key]]
    if bad:
        err.print(f"[bold red]invariants broken:[/] {', '.join(bad)}")
        raise typer.Exit(1)


def register(cli: typer.Typer) -> None:
    cli.command()(simulate)


FEATURE = Feature("simulate", commands=register, order=50)
