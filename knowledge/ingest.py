"""Embedding a knowledge base's new texts with every model, the passes side by side.

The e5 pass (dense vectors and latent terms from one forward run) and the second
opinion read the same texts but not each other's results, and every engine releases
the GIL while it computes, so they run on threads of their own. A pass whose model
may be called from several threads at once (ONNX Runtime's sessions may) takes
batches on one lane per core: each run uses one core, so on two cores the e5 pass,
which is most of the work, keeps both busy. Texts go in order of length, so a batch
holds texts of about the same length and the engine pads little. Each pass reports
its own progress.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

#: texts per call to a model (the engines batch again by tokens inside)
BATCH = 32

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Pass:
    """One model pass: ``embed`` maps a batch of ``texts`` to one result each, kept in ``into``.

    ``lanes`` is how many batches may run at once (0: one per core); a model that is
    not safe to call from two threads at once keeps 1.
    """

    stage: str
    texts: list[str]
    embed: Callable[[list[str]], Iterable[Any]]
    into: dict[str, Any]
    lanes: int = 1


def cores() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_passes(passes: list[Pass], progress: Progress | None = None) -> None:
    """Run every pass with texts to embed, each on its own lanes; re-raise the first error."""
    lanes = [(one, _Feed(one, progress)) for one in passes if one.texts]
    workers = [feed for one, feed in lanes for _ in range(one.lanes or cores())]
    if len(workers) == 1:
        workers[0].drain()
        return
    with ThreadPoolExecutor(max(len(workers), 1), thread_name_prefix="kb-ingest") as pool:
        for future in [pool.submit(feed.drain) for feed in workers]:
            future.result()


class _Feed:
    """One pass's batches, shortest texts first, handed to whichever lane asks next."""

    def __init__(self, one: Pass, progress: Progress | None) -> None:
        self.one = one
        self.progress = progress
        ordered = sorted(dict.fromkeys(one.texts), key=len)
        self._batches: Iterator[list[str]] = iter(
            [ordered[start : start + BATCH] for start in range(0, len(ordered), BATCH)]
        )
        self._total = len(ordered)
        self._done = 0
        self._failed = False
        self._lock = threading.Lock()

    def _next(self) -> list[str] | None:
        with self._lock:
            return None if self._failed else next(self._batches, None)

    def drain(self) -> None:
        while (texts := self._next()) is not None:
            try:
                results = list(self.one.embed(texts))
            except BaseException:
                with self._lock:
                    self._failed = True  # the other lanes stop at their next batch
                raise
            with self._lock:
                self.one.into.update(zip(texts, results, strict=True))
                self._done += len(texts)
                if self.progress is not None:
                    self.progress(self.one.stage, self._done, self._total)
