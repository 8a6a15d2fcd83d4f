"""Ingest speed: how long ``warmline kb ingest`` takes to embed a large knowledge base.

A corpus of ``--size`` chunks (default 10,000; half Chinese, half English) is generated
into a temporary folder, never committed: FAQ files of 100 entries, each entry's answer
recombined from the demo KB's answers (its sentences shuffled, plus a number so no two
texts are alike and nothing is reused), so chunk lengths match a real shop's FAQ. The
index is then built from scratch the way ``kb ingest`` builds it (dense vectors, latent
terms, the second opinion, calibration, BM25) with the same progress bar, and the wall
time and the process CPU time (user + sys, all threads) are printed with chunks/s.

The machine may be shared: CPU time is what the build itself used; wall time is what a
shop would wait on an otherwise idle machine only if the load average stayed below the
core count (it is printed before and after).

Run: ``python bench/kb_ingest.py`` (``--size N``, ``--keep DIR`` to leave the corpus,
``--ingest-precision q4`` for the 4-bit products, the default before int8).
Target (issue 18): 10,000 chunks in at most 5 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.i18n import Catalog
from knowledge.config import KnowledgeConfig
from knowledge.service import KnowledgeBase

REPO = Path(__file__).resolve().parent.parent
DEMO_FAQ = REPO / "examples" / "camellia" / "kb" / "faq.yaml"
ENTRIES_PER_FILE = 100
TARGET_SECONDS = 300.0
_SENTENCE = {"zh": re.compile(r"(?<=[。！？])"), "en": re.compile(r"(?<=[.!?])\s+")}


def generate(folder: Path, size: int, seed: int = 11) -> int:
    """FAQ files with ``size`` chunks in all (one chunk per entry and language)."""
    demo = yaml.safe_load(DEMO_FAQ.read_text(encoding="utf-8"))
    pool = {
        lang: [
            (str(e[f"question_{lang}"]), str(e[f"answer_{lang}"]))
            for e in demo
            if e.get(f"question_{lang}") and e.get(f"answer_{lang}")
        ]
        for lang in ("zh", "en")
    }
    rng = random.Random(seed)
    entries = []
    for n in range(size):
        lang = "zh" if n % 2 == 0 else "en"
        question, answer = rng.choice(pool[lang])
        sentences = [s for s in _SENTENCE[lang].split(answer) if s.strip()]
        rng.shuffle(sentences)
        joiner = "" if lang == "zh" else " "
        number = f"（编号{n}）" if lang == "zh" else f" (ref {n})"
        entries.append(
            {
                "id": f"entry-{n}",
                f"question_{lang}": f"{question}{number}",
                f"answer_{lang}": joiner.join(sentences).strip(),
            }
        )
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(entries), ENTRIES_PER_FILE):
        part = entries[start : start + ENTRIES_PER_FILE]
        (folder / f"faq_{start // ENTRIES_PER_FILE:04d}.yaml").write_text(
            yaml.safe_dump(part, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    return len(entries)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="write the corpus and index here and keep them")
    parser.add_argument(
        "--ingest-precision",
        choices=("int8", "q4"),
        default="int8",
        help="knowledge.embeddings.options.ingest_precision (q4: the 4-bit products, the peer)",
    )
    args = parser.parse_args()
    console = Console(stderr=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="warmline-ingest-"))
    try:
        corpus, index_dir = work / "kb", work / "index"
        shutil.rmtree(index_dir, ignore_errors=True)
        chunks = generate(corpus, args.size)
        config = KnowledgeConfig.model_validate(
            {
                "sources": [str(corpus)],
                "index_dir": str(index_dir),
                "embeddings": {"options": {"ingest_precision": args.ingest_precision}},
            }
        )
        kb = KnowledgeBase(config, Catalog().t)
        load_before = os.getloadavg()[0]
        cpu, wall = cpu_seconds(), time.perf_counter()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            tasks: dict[str, object] = {}
            #: (CPU, wall) when each stage first reported: the model passes run side by side
            #: on every core until "calibrating", then one thread does the rest
            began: dict[str, tuple[float, float]] = {}

            def report(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    began[stage] = (cpu_seconds(), time.perf_counter())
                    tasks[stage] = progress.add_task(stage, total=max(total, 1))
                progress.update(tasks[stage], completed=done, total=max(total, 1))  # type: ignore[arg-type]

            built = kb.build(report)
        tail_cpu, tail_wall = began.get("calibrating", (cpu_seconds(), time.perf_counter()))
        tail_cpu, tail_wall = cpu_seconds() - tail_cpu, time.perf_counter() - tail_wall
        wall = time.perf_counter() - wall
        cpu = cpu_seconds() - cpu
        passes_cpu, passes_wall = cpu - tail_cpu, wall - tail_wall
        print(
            f"model passes: CPU {passes_cpu:.0f} s in {passes_wall:.0f} s wall "
            f"({passes_cpu / passes_wall:.2f} cores busy on average); calibration, BM25 and "
            f"saving (one thread): CPU {tail_cpu:.0f} s in {tail_wall:.0f} s wall"
        )
        print(
            f"{chunks} chunks generated, {built.chunks} indexed ({built.embedded} embedded): "
            f"wall {wall:.0f} s ({built.chunks / wall:.1f} chunks/s), "
            f"CPU {cpu:.0f} s user+sys ({built.chunks / cpu:.1f} chunks per CPU-second); "
            f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, "
            f"{os.cpu_count()} cores; target {TARGET_SECONDS:.0f} s for 10,000 chunks"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
