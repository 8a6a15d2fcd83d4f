"""What a started bot built is kept out of the cyclic collector's full passes.

A started App holds some 300,000 objects (modules, config, routers, the features'
set-up, SQLAlchemy's and the platform library's caches) that live as long as it runs.
Each full collection walks them all to find no garbage among them: about 0.2 s of CPU a
pass on the development machine, and a burst of a thousand updates makes two or three
of them (half a millisecond per update, a sixth of a ``/start``'s CPU). ``gc.freeze``
moves them to the collector's permanent generation, which it does not walk; the App
gives them back when it stops, so a process that goes on after it (tests, a host
application, the benchmark) runs as before.
"""

from __future__ import annotations

import gc


class FrozenHeap:
    """Freezes the heap once, if nobody else froze it; :meth:`thaw` undoes only its own."""

    def __init__(self) -> None:
        self._frozen = False

    def freeze(self) -> None:
        if self._frozen or gc.get_freeze_count():  # the host froze its own: leave it
            return
        gc.freeze()
        self._frozen = True

    def thaw(self) -> None:
        if self._frozen:
            gc.unfreeze()
            self._frozen = False
