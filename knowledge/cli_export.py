"""``warmline kb export``, and what admins taught read from the database for every ``kb``
command, so the command line answers exactly as the running bot does.

Export writes the whole knowledge base into a folder in its source format: each FAQ
file with the paraphrases taught for its entries added to ``questions_<lang>``, the
taught new entries as ``learned.yaml``, Markdown and text files as they are. Put the
files back among the sources and the lessons live in the shop's own files (the bot
does not add them twice).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml
from rich.console import Console

from bot.commandline import ConfigOption, err, load_or_exit
from knowledge.config import knowledge_config

if TYPE_CHECKING:
    from bot.config import WarmlineConfig
    from knowledge.learning import Learned

#: an FAQ file's opening comment lines are kept; entries are written block-style
_YAML_STYLE = {"allow_unicode": True, "sort_keys": False, "width": 100}


def read_learned(cfg: WarmlineConfig, required: bool = False) -> Learned:
    """Lessons stored in ``storage.database_url``; none when the database does not exist
    yet or predates them. Unreachable: an error when ``required``, else a warning."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from knowledge.learning import Learned
    from storage.database import Database
    from storage.kb_learning import SqlLearnedStore

    url = make_url(cfg.storage.database_url)
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        if path in ("", ":memory:") or not Path(path).is_file():
            return Learned()  # not created yet: never create it from here

    async def read() -> Learned:
        db = Database(cfg.storage.database_url)
        try:
            async with db.reading() as conn:
                exists = await conn.run_sync(lambda c: inspect(c).has_table("kb_learned"))
            return Learned.of(await SqlLearnedStore(db).learned()) if exists else Learned()
        finally:
            await db.close()

    try:
        return asyncio.run(read())
    except Exception as exc:  # a CLI without the database still answers from the files
        if required:
            err.print(f"[bold red]Cannot read taught questions from the database:[/] {exc}")
            raise typer.Exit(2) from None
        err.print(f"[yellow]Taught questions left out (database unreachable: {exc})[/]")
        return Learned()


def export(
    out: Annotated[Path, typer.Argument(help="Folder to write the knowledge files into")],
    config: ConfigOption = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files already there")] = False,
) -> None:
    """Write the knowledge base, with the questions admins taught, in its source format."""
    from knowledge.chunks import SourceError
    from knowledge.documents import discover
    from knowledge.faq import read_faq
    from knowledge.learning import LEARNED_FILE
    from knowledge.source_files import FAQ_SUFFIXES

    cfg = load_or_exit(config)
    if not knowledge_config(cfg).sources:
        err.print("[bold red]No knowledge sources:[/] set knowledge.sources in the config")
        raise typer.Exit(2)
    learned = read_learned(cfg, required=True)
    written: dict[str, str] = {}
    defined: set[str] = set()
    added = 0
    try:
        for path in discover(knowledge_config(cfg).source_paths()):
            if path.name in written:
                err.print(f"[bold red]Two source files are called {path.name}[/]; rename one")
                raise typer.Exit(2)
            text = path.read_text(encoding="utf-8")
            if path.suffix.lower() in FAQ_SUFFIXES:
                entries = read_faq(text, path)
                defined |= {f"{path.name}#{e.get('id')}" for e in entries if isinstance(e, dict)}
                merged, count = learned.merge(path.name, entries)
                if count:
                    text = _faq_text(_opening_comments(text), merged)
                    added += count
            written[path.name] = text
        taught = learned.taught_entries(defined)
        if taught:
            entries, count = learned.merge(LEARNED_FILE, [e.as_faq() for e in taught])
            heading = "# Entries taught to the bot by admins (warmline kb export).\n"
            written[LEARNED_FILE] = _faq_text(heading, entries)
            added += count
    except (SourceError, OSError, UnicodeDecodeError) as exc:
        err.print(f"[bold red]Knowledge base error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    clashes = [name for name in written if (out / name).exists()]
    if clashes and not force:
        err.print(f"[bold red]Already in {out}:[/] {', '.join(clashes)} (use --force to overwrite)")
        raise typer.Exit(2)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in written.items():
        staged = out / f".{name}.tmp"
        staged.write_text(text, encoding="utf-8")
        shutil.move(staged, out / name)
    Console(soft_wrap=True).print(
        f"wrote {len(written)} files to [bold]{out}[/]: {added} taught paraphrases added to "
        f"their entries, {len(taught)} taught entries in {LEARNED_FILE}",
        highlight=False,
    )


def _opening_comments(text: str) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line)
    return "".join(lines)


def _faq_text(heading: str, entries: list[object]) -> str:
    body = yaml.safe_dump(entries, **_YAML_STYLE)  # type: ignore[call-overload]
    return f"{heading}\n{body}" if heading else body
