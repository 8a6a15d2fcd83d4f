"""Garbage collection tuned for one long batch run, like a simulation."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def batch_collection() -> Iterator[None]:
    """Collect garbage less often while a run lasts (restored after it).

    A run allocates hundreds of millions of short-lived objects and keeps a few
    hundred thousand (members, journeys, sends): at the default thresholds the
    collector rescans the kept ones thousands of times, a tenth of the run. What
    exists before the run (modules, config, the app) is frozen out of scanning.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
