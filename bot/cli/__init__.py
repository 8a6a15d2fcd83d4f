"""The ``warmline`` command line: a composition root. The core's commands are here;
each feature adds its own (``Feature.commands``, bot.features): ``warmline`` offers those
of the features the config loads (:mod:`bot.cli.selection`), ``app`` those of every
installed feature."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from bot.cli.selection import chosen_features
from bot.commandline import ConfigOption, err, load_or_exit, setup_logging
from bot.errors import ConfigError, WarmlineError
from bot.features import features, load_features
from bot.platforms import platforms

#: ``-h`` as well as ``--help``, on every command (subcommands inherit it)
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}


def _root() -> typer.Typer:
    return typer.Typer(
        no_args_is_help=True,
        add_completion=False,
        help="Warmline: trust-first community-commerce bots.",
        context_settings=HELP_OPTIONS,
    )


#: the core's own commands; :func:`command_line` adds the features'
core = _root()
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
config_app = typer.Typer(no_args_is_help=True, help="Configuration.")
core.add_typer(db_app, name="db")
core.add_typer(config_app, name="config")


@core.command()
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


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Migrate the database to the newest schema."""
    from bot.schema import with_feature_tables
    from storage.database import Database

    cfg = load_or_exit(config)

    async def upgrade() -> None:
        db = with_feature_tables(Database(cfg.storage.database_url))
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
    for note in cfg.warnings:
        err.print(f"[yellow]warning:[/] {note}", highlight=False)
    problems = file_problems(cfg)
    if problems:
        err.print("[bold red]Invalid configuration[/]")
        err.print("\n".join(problems), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    platform = platforms()[cfg.bot.platform]
    section = cfg.bot.platform_section(platform.name, BaseModel)
    about = f" {platform.summary(section)}" if platform.summary is not None else ""
    Console().print(
        f"config OK: platform={platform.name}{about}"
        + f" database={_redact(cfg.storage.database_url)}",
        highlight=False,
    )


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def add_feature_commands(cli: typer.Typer, chosen: Sequence[str] | None = None) -> None:
    """The commands of the ``chosen`` features (None: every installed one). What the
    choice lacks (a name not installed, a feature it needs) is for the command that
    loads the config to report."""
    if chosen is not None:
        found = sorted(load_features(chosen), key=lambda f: (f.order, f.name))
    else:
        try:
            found = features()
        except ConfigError as exc:  # not installed as a package: the core's commands run
            err.print(f"[yellow]warning:[/] {escape(str(exc))}", highlight=False)
            return
    for feature in found:
        if feature.commands is not None:
            feature.commands(cli)


def command_line(chosen: Sequence[str] | None = None) -> typer.Typer:
    """``warmline``: the core's commands, the ``chosen`` features' (None: all) and the
    platforms' (``Platform.commands``, bot.platforms)."""
    cli = _root()
    cli.registered_commands = list(core.registered_commands)
    cli.registered_groups = list(core.registered_groups)
    add_feature_commands(cli, chosen)
    for platform in platforms().values():
        if platform.commands is not None:
            platform.commands(cli)
    return cli


#: every installed feature's commands, whatever a config says (tests, embedders)
app = command_line()


def main() -> None:
    """``warmline``: only the commands of the features the config loads."""
    chosen = chosen_features(sys.argv[1:])
    (app if chosen is None else command_line(chosen))()
