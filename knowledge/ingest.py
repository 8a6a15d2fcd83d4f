"""Embedding a knowledge base's new texts with every model, the passes side by side.

The dense pass, the latent-terms pass and the second opinion read the same texts but
not each other's results, and every engine releases the GIL while it computes, so each
runs on its own thread: on two cores the slowest pass sets the wall time instead of
the sum of the three. Each pass works in batches and reports its own progress.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

#: texts per call to a model (the engines batch again by tokens inside)
BATCH = 32

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Pass:
    """One model pass: ``embed`` maps a batch of ``texts`` to one result each, kept in ``into``."""

    stage: str
    texts: list[str]
    embed: Callable[[list[str]], Iterable[Any]]
    into: dict[str, Any]


def run_passes(passes: list[Pass], progress: Progress | None = None) -> None:
    """Run every pass with texts to embed, each on its own thread; re-raise the first error."""
    pending = [p for p in passes if p.texts]
    if len(pending) <= 1:
        for one in pending:
            _run(one, progress)
        return
    with ThreadPoolExecutor(len(pending), thread_name_prefix="kb-ingest") as pool:
        for future in [pool.submit(_run, one, progress) for one in pending]:
            future.result()


def _run(one: Pass, progress: Progress | None) -> None:
    total = len(one.texts)
    for start in range(0, total, BATCH):
        texts = one.texts[start : start + BATCH]
        one.into.update(zip(texts, one.embed(texts), strict=True))
        if progress is not None:
            progress(one.stage, min(start + BATCH, total), total)
