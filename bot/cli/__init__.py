"""The ``warmline`` command line."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bot.cli import logs
from bot.config import WarmlineConfig, load_config, resolve_config_path
from bot.errors import ConfigError, WarmlineError

#: ``-h`` as well as ``--help``, on every command (subcommands inherit it)
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Warmline: trust-first community-commerce bots.",
    context_settings=HELP_OPTIONS,
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
config_app = typer.Typer(no_args_is_help=True, help="Configuration.")
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")

err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "-c", "--config", help="Config file (default: config.yaml, then config.example.yaml)."
    ),
]


def load_or_exit(path: Path | None) -> WarmlineConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        err.print("[bold red]Invalid configuration[/]")
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def setup_logging(config: WarmlineConfig) -> None:
    logs.setup_logging(
        config.logging.level,
        config.logging.libraries,
        "%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def run(config: ConfigOption = None) -> None:
    """Start the bot (Ctrl-C or SIGTERM shuts down cleanly)."""
    from bot.app import App

    cfg = load_or_exit(config)
    setup_logging(cfg)
    try:
        asyncio.run(App(cfg).run_forever())
    except WarmlineError as exc:
        err.print(f"[bold red]Cannot start:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None


@app.command()
def chat(
    config: ConfigOption = None,
    files: Annotated[
        Path,
        typer.Option(
            "--files", help="Folder for files the bot sends you, e.g. /mydata (default: here)."
        ),
    ] = Path(),
) -> None:
    """Talk to the bot in this terminal, as any member or as an admin (no token)."""
    from bot.cli.chat import run_chat

    cfg = load_or_exit(config)
    if config is None and resolve_config_path(None) is None:
        err.print(
            "[yellow]No config.yaml or config.example.yaml in this folder: chatting with the "
            "defaults, without a knowledge base (run from the repository, or pass -c FILE).[/]"
        )
    # the conversation is the output: Warmline's own INFO lines would bury it
    logs.setup_logging(
        logging.WARNING, cfg.logging.libraries, "%(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(run_chat(cfg, files))
    except WarmlineError as exc:
        err.print(f"[bold red]Cannot start:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Migrate the database to the newest schema."""
    from storage.database import Database

    cfg = load_or_exit(config)

    async def upgrade() -> None:
        db = Database(cfg.storage.database_url)
        try:
            await db.migrate()
        finally:
            await db.close()

    asyncio.run(upgrade())
    Console().print(f"database at [bold]{_redact(cfg.storage.database_url)}[/] is up to date")


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Validate a config file, and the files it points at, without starting anything."""
    from bot.cli.contents import file_problems

    cfg = load_or_exit(config)
    for note in cfg.deprecations:
        err.print(f"[yellow]warning:[/] {note}", highlight=False)
    problems = file_problems(cfg)
    if problems:
        err.print("[bold red]Invalid configuration[/]")
        err.print("\n".join(problems), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    Console().print(
        f"config OK: platform={cfg.bot.platform}"
        + (
            f" library={cfg.bot.telegram.library} mode={cfg.bot.telegram.mode}"
            if cfg.bot.platform == "telegram"
            else ""
        )
        + f" database={_redact(cfg.storage.database_url)}",
        highlight=False,
    )


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


from bot.cli.insight import dashboard, insight_app, report  # noqa: E402 (uses the options above)

app.command()(report)
app.command()(dashboard)
app.add_typer(insight_app, name="insight")

from bot.cli.push import broadcast, push_app  # noqa: E402 (push gate commands)

app.command()(broadcast)
app.add_typer(push_app, name="push")

from bot.cli.flows import flows_app, simulate  # noqa: E402 (member journey commands)

app.command()(simulate)
app.add_typer(flows_app, name="flows")

from bot.cli.kb import kb_app  # noqa: E402 (knowledge base commands)

app.add_typer(kb_app, name="kb")

from bot.cli.wecom import wecom_app  # noqa: E402 (WeCom's own commands)

app.add_typer(wecom_app, name="wecom")


def main() -> None:
    app()
