"""Where metrics come from in other features, without those features knowing.

Gate decisions: every decision the push gate makes goes through its
decision recorder, so a recorder that counts before passing rows on sees them
all (sent, deferred, dropped; submits and drains). Knowledge answers: the
``Answerer`` contract has one method, so a wrapper counts answered and
abstained questions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from insight.metrics import Metrics
from knowledge.contract import Answer, Answerer

if TYPE_CHECKING:
    from bot.app import App
    from push.store import DecisionRow


class _Recorder(Protocol):
    def record(self, row: DecisionRow) -> None: ...


class CountingRecorder:
    """Counts a decision, then hands it to the gate's own recorder."""

    def __init__(self, inner: _Recorder, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    def record(self, row: DecisionRow) -> None:
        self.metrics.observe_gate(row.category, row.outcome, row.reason)
        self.inner.record(row)


class CountingAnswerer:
    def __init__(self, inner: Answerer, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    async def answer(self, question: str, lang: str | None = None) -> Answer:
        result = await self.inner.answer(question, lang)
        if not result.small_talk:
            self.metrics.observe_kb(answered=not result.handoff)
        return result


def attach(app: App, metrics: Metrics) -> list[str]:
    """Hook into the features this bot has; returns what was hooked (for the log)."""
    hooked = []
    from push.gate import Gate

    gate = app.services.find(Gate)
    if gate is not None and not isinstance(gate.recorder, CountingRecorder):
        gate.recorder = CountingRecorder(gate.recorder, metrics)
        hooked.append("push gate")
    answerer = app.services.find(Answerer)  # type: ignore[type-abstract]
    if answerer is not None and not isinstance(answerer, CountingAnswerer):
        app.services.provide(CountingAnswerer(answerer, metrics), Answerer)
        hooked.append("knowledge")
    return hooked
