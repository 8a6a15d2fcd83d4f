"""Ingest's passes: every text embedded once, batches spread over lanes, errors surface."""

from __future__ import annotations

import threading

import pytest

from knowledge.ingest import BATCH, Pass, run_passes


def test_each_text_gets_its_own_result_and_progress_reaches_the_total() -> None:
    texts = [f"text {n}" * (n % 7 + 1) for n in range(3 * BATCH + 5)]
    lengths: dict[str, int] = {}
    upper: dict[str, str] = {}
    seen: list[tuple[str, int, int]] = []
    lock = threading.Lock()

    def report(stage: str, done: int, total: int) -> None:
        with lock:
            seen.append((stage, done, total))

    run_passes(
        [
            Pass("lengths", [*texts, texts[0]], lambda batch: [len(t) for t in batch], lengths, 0),
            Pass("upper", texts, lambda batch: [t.upper() for t in batch], upper),
        ],
        report,
    )
    assert lengths == {text: len(text) for text in texts}
    assert upper == {text: text.upper() for text in texts}
    for stage in ("lengths", "upper"):
        done = [d for s, d, total in seen if s == stage and total == len(texts)]
        assert done == sorted(done) and done[-1] == len(texts)


def test_a_pass_on_every_core_runs_batches_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two lanes: a batch waits until another batch is running beside it."""
    monkeypatch.setattr("knowledge.ingest.cores", lambda: 2)
    both_running = threading.Barrier(2, timeout=10)

    def embed(batch: list[str]) -> list[str]:
        both_running.wait()  # raises BrokenBarrierError if the batches ran one by one
        return [threading.current_thread().name for _ in batch]

    where: dict[str, str] = {}
    texts = [f"t{n}" for n in range(2 * BATCH)]
    run_passes([Pass("e5", texts, embed, where, 0)])
    assert len(set(where.values())) == 2


def test_an_error_stops_the_pass_and_is_raised() -> None:
    calls: list[int] = []

    def failing(batch: list[str]) -> list[int]:
        calls.append(len(batch))
        raise ValueError("model broke")

    with pytest.raises(ValueError, match="model broke"):
        run_passes([Pass("e5", [f"t{n}" for n in range(5 * BATCH)], failing, {}, 1)])
    assert len(calls) == 1
