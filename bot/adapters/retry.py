"""One retry policy for transient failures of outgoing platform calls.

Transient failures (5xx, network) back off exponentially up to
``max_retries``; the connection to the platform is the adapter's business.
A 429 is *not* retried here: it is raised as :class:`~bot.errors.RateLimited`
at once, so the core (:mod:`bot.outbound`, the push sender) holds every send
for ``retry_after`` and decides whether to try again. Everything else fails at
once. Each adapter supplies ``classify``, which maps its library's exceptions
to the neutral errors in :mod:`bot.errors`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.errors import DeliveryError, RateLimited, TransientError
from bot.signals import TRANSIENT

log = logging.getLogger("warmline.retry")

T = TypeVar("T")

#: library exception → neutral error; None means "not ours, re-raise as is"
Classifier = Callable[[BaseException], DeliveryError | TransientError | None]
Sleep = Callable[[float], Awaitable[None]]
#: told the cause of each retry (for metrics)
OnRetry = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    sleep: Sleep = asyncio.sleep

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (0-based) of a transient failure."""
        return float(min(self.max_delay, self.base_delay * (2**attempt)))

    async def run(
        self,
        call: Callable[[], Awaitable[T]],
        classify: Classifier,
        what: str,
        on_retry: OnRetry | None = None,
    ) -> T:
        """Await ``call()`` until it succeeds or fails for good (raised neutral);
        a 429 is raised at once as ``RateLimited``."""
        attempt = 0
        while True:
            try:
                return await call()
            except Exception as exc:
                failure = classify(exc)
                if failure is None:
                    raise
                if isinstance(failure, RateLimited):
                    raise failure from exc
                if isinstance(failure, TransientError) and attempt < self.max_retries:
                    delay = self.backoff(attempt)
                    attempt += 1
                    log.warning(
                        "%s: %s; retry %d/%d in %.1fs",
                        what,
                        failure,
                        attempt,
                        self.max_retries,
                        delay,
                    )
                    if on_retry is not None:
                        on_retry(TRANSIENT)
                    await self.sleep(delay)
                    continue
                raise failure from exc
