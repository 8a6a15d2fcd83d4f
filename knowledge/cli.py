"""``warmline kb``: build the index, ask questions, evaluate on a question set."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from bot.commandline import ConfigOption, err, load_or_exit
from knowledge.cli_export import export, read_learned
from knowledge.config import knowledge_config
from knowledge.provided import EmbeddingsUnavailable

if TYPE_CHECKING:
    from bot.config import WarmlineConfig
    from knowledge.service import KnowledgeBase

kb_app: typer.Typer = typer.Typer(
    no_args_is_help=True, help="Knowledge base: ingest, ask, evaluate, export."
)


def open_knowledge(cfg: WarmlineConfig, progress: Progress | None = None) -> KnowledgeBase:
    """Build (incrementally) or load the index, with what admins taught the bot (as the
    running bot does), or exit with a clear message."""
    from bot.i18n import Catalog
    from knowledge.chunks import SourceError
    from knowledge.service import KnowledgeBase

    if not knowledge_config(cfg).sources:
        err.print("[bold red]No knowledge sources:[/] set knowledge.sources in the config")
        raise typer.Exit(2)
    catalog = Catalog(default=cfg.bot.default_language)
    try:
        kb = KnowledgeBase(knowledge_config(cfg), catalog.t, cfg.bot.default_language)
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            """One bar per stage: the model passes run side by side."""
            if progress is None:
                return
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=max(total, 1))
            progress.update(tasks[stage], completed=done, total=max(total, 1))

        kb.build(report, read_learned(cfg))
    except (SourceError, ValueError, EmbeddingsUnavailable) as exc:
        fail(exc)
    return kb


def fail(exc: Exception) -> NoReturn:
    """Exit 2 with the knowledge base's error, which names its config key."""
    err.print(
        f"[bold red]Knowledge base error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
    )
    raise typer.Exit(2) from None


@kb_app.command("ingest")
def ingest(config: ConfigOption = None) -> None:
    """Build or refresh the index; unchanged files are not re-embedded."""
    cfg = load_or_exit(config)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    ) as progress:
        kb = open_knowledge(cfg, progress)
    index = kb.index
    assert index is not None
    Console().print(
        f"index at [bold]{knowledge_config(cfg).index_path()}[/]: {len(index.chunks)} chunks "
        f"from {len(index.files)} files",
        highlight=False,
    )


@kb_app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="The question, or - to read one per line")],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per answer")] = False,
    lang: Annotated[str | None, typer.Option(help="Member language (zh/en) if unclear")] = None,
) -> None:
    """Answer a question (or every line of stdin with ``-``) from the knowledge base."""
    cfg = load_or_exit(config)
    kb = open_knowledge(cfg)
    lines = (line.rstrip("\n") for line in sys.stdin) if question == "-" else iter([question])
    out = Console(highlight=False, soft_wrap=True)
    for line in lines:
        if question == "-" and not line.strip():
            continue
        try:
            answer = kb.decide(line, lang)
        except EmbeddingsUnavailable as exc:
            fail(exc)
        if as_json:
            sys.stdout.write(json.dumps(answer.as_json(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            out.print(answer.answer)
            out.print(
                f"[dim]source={answer.source} confidence={answer.confidence:.2f} "
                f"handoff={answer.handoff} lang={answer.lang}[/]"
            )


@kb_app.command("eval")
def evaluate_set(
    questions: Annotated[Path, typer.Argument(help="YAML list of {q, lang, expect}")],
    config: ConfigOption = None,
    show_misses: Annotated[bool, typer.Option("--misses", help="List every miss")] = False,
) -> None:
    """In-domain top-1, clarify, hand-off and wrong-answer rates per language, with baselines."""
    from knowledge.evaluation import evaluate, load_questions

    cfg = load_or_exit(config)
    try:
        items = load_questions(questions)
    except (OSError, ValueError) as exc:
        err.print(f"[bold red]Cannot read the question set:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    kb = open_knowledge(cfg)
    answerer = kb.require()
    table = Table(title=f"{questions.name}: min_confidence={knowledge_config(cfg).min_confidence}")
    columns = (
        "retrieval", "slice", "questions", "in-domain top-1", "clarify", "handed off", "wrong",
        "top-1 if never abstaining",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column in ("retrieval", "slice") else "right")
    hybrid_report = None
    for mode in answerer.retriever.modes:
        try:
            report = evaluate(
                items,
                lambda q, mode=mode: answerer.decide(q.text, q.lang or None, mode=mode),  # type: ignore[misc]
            )
        except EmbeddingsUnavailable as exc:
            fail(exc)
        if mode == "hybrid":
            hybrid_report = report
        for name, tally in [("all", report.overall), *sorted(report.by_lang.items())]:
            table.add_row(
                mode if name == "all" else "",
                name,
                str(tally.total),
                f"{tally.accuracy:.1%} ({tally.correct}/{tally.in_domain})",
                f"{tally.clarify_rate:.1%} ({tally.clarified}/{tally.in_domain})",
                f"{tally.abstain_rate:.1%} ({tally.abstained_ood}/{tally.out_of_domain})",
                f"{tally.wrong_rate:.1%} ({tally.wrong}/{tally.total})",
                f"{tally.ranked_accuracy:.1%} ({tally.ranked_first}/{tally.in_domain})",
            )
        table.add_section()
    console = Console(highlight=False, soft_wrap=True, width=max(Console().width, 130))
    console.print(table)
    if hybrid_report is not None and hybrid_report.overall.kinds:
        kinds = ", ".join(
            f"{kind} {done}/{asked}"
            for kind, (done, asked) in sorted(hybrid_report.overall.kinds.items())
        )
        console.print(f"hybrid, handed off by kind: {kinds}")
    if show_misses and hybrid_report is not None:
        for item, answer in hybrid_report.misses:
            got = f"clarify {'|'.join(answer.clarify)}" if answer.clarify else str(answer.source)
            console.print(
                f"miss: {item.text!r} expected {item.expect} got {got} "
                f"({answer.confidence:.2f}{', handoff' if answer.handoff else ''})"
            )


kb_app.command("export")(export)


def register(cli: typer.Typer) -> None:
    cli.add_typer(kb_app, name="kb")
