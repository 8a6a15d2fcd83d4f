"""Prometheus metrics of one running bot, served at ``/metrics``.

Each App gets its own :class:`CollectorRegistry` (two bots in one process, as
in tests, never share counters). Updates and handler latency come from a
dispatcher middleware; gate decisions from a wrapper around the push gate;
429s and retries from the core's ``platform_retry`` signal (never from log
text, so rewording a log line cannot zero them); outbox depth is counted in the
database when Prometheus scrapes, and so is scheduler lag (the oldest
overdue job or flow timer). Features without a hook call the
``observe_*`` methods themselves.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.context import Context
from bot.dispatcher import Next
from bot.signals import RATE_LIMITED

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class Backlog:
    """What is waiting, read from the database when Prometheus scrapes."""

    outbox: int
    scheduler_lag: float


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter(
            "warmline_updates", "Updates handled, by event type.", ["type"], registry=r
        )
        self.failures = Counter(
            "warmline_update_failures",
            "Updates whose handler failed, by event type.",
            ["type"],
            registry=r,
        )
        self.latency = Histogram(
            "warmline_handler_seconds",
            "Time from dispatch to handler done, by event type.",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.gate = Counter(
            "warmline_gate_decisions",
            "Push gate decisions by outcome and reason.",
            ["category", "outcome", "reason"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            "warmline_outbox_depth", "Messages waiting in the push outbox.", registry=r
        )
        self.rate_limited = Counter(
            "warmline_platform_rate_limited", "429 answers from the platform.", registry=r
        )
        self.retries = Counter(
            "warmline_platform_retries",
            "Platform calls retried, by cause (rate_limited, transient).",
            ["cause"],
            registry=r,
        )
        self.kb = Counter(
            "warmline_kb_questions",
            "Knowledge-base questions, by result (answered, abstained).",
            ["result"],
            registry=r,
        )
        self.scheduler_lag = Gauge(
            "warmline_scheduler_lag_seconds",
            "How overdue the oldest due job or flow timer is (0 when the scheduler keeps up).",
            registry=r,
        )
        #: the gate's counter per (category, outcome, reason): one label lookup per kind
        #: of decision, not one per decision (the gate decides for every proactive message)
        self._gate_counts: dict[tuple[str, str, str], Counter] = {}

    async def middleware(self, call_next: Next, ctx: Context) -> None:
        """Count and time every update (``app.dispatcher.use(metrics.middleware)``)."""
        kind = type(ctx.event).__name__
        started = time.perf_counter()
        try:
            await call_next(ctx)
        except BaseException:
            self.failures.labels(kind).inc()
            raise
        finally:
            self.latency.labels(kind).observe(time.perf_counter() - started)
            self.updates.labels(kind).inc()
        if ctx.data.get("error"):
            self.failures.labels(kind).inc()

    def observe_gate(self, category: str, outcome: str, reason: str | None) -> None:
        labels = (category, outcome, reason or "")
        counter = self._gate_counts.get(labels)
        if counter is None:
            counter = self._gate_counts[labels] = self.gate.labels(*labels)
        counter.inc()

    def observe_kb(self, answered: bool) -> None:
        self.kb.labels("answered" if answered else "abstained").inc()

    def observe_retry(self, cause: str) -> None:
        """A platform call retried (``bot.signals.platform_retry``)."""
        if cause == RATE_LIMITED:
            self.rate_limited.inc()
        self.retries.labels(cause).inc()

    async def render(self, refresh: Callable[[], Awaitable[Backlog]] | None = None) -> bytes:
        """The exposition text; ``refresh`` reads the backlog from the database at scrape time."""
        if refresh is not None:
            backlog = await refresh()
            self.outbox_depth.set(backlog.outbox)
            self.scheduler_lag.set(backlog.scheduler_lag)
        return generate_latest(self.registry)
