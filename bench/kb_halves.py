"""Is a retrieval setting's gain real, or fitted to the questions it was measured on?

The question sets are pooled (the dev set plus the two written later in
``bench/``) and split in half at random, in- and off-topic questions halved
evenly. On one half the free settings are chosen: the second opinion's
``weight`` (0-1) and ``confidence_share`` (0-0.5) and the threshold
(``min_confidence``), by top-1 + abstain - 3 x wrong; the other half, unseen,
is scored with them. The shipped fusion is measured next to peers in the same
run: BM25's z-score uncapped, and e5 alone (no second opinion). The same
settings at their defaults are scored on each set in full, too.

Run: ``python bench/kb_halves.py`` (``-c CONFIG``, ``--splits N``, question files).
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config.loader import load_config
from knowledge.answerer import KnowledgeAnswerer
from knowledge.cli import open_knowledge
from knowledge.evaluation import Question, load_questions, matches
from knowledge.retriever import BM25_Z_CAP, Retriever
from knowledge.service import KnowledgeBase

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SETS = (
    REPO.parent / "shared/kb/camellia/dev_questions.yaml",
    REPO / "bench/kb_fresh_questions.yaml",
    REPO / "bench/kb_third_questions.yaml",
)
WEIGHTS = tuple(round(0.1 * k, 1) for k in range(11))
SHARES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
THRESHOLDS = tuple(round(0.4 + 0.01 * k, 2) for k in range(41))


@dataclass(frozen=True, slots=True)
class Outcome:
    off_topic: bool
    #: the top candidate is the expected source
    right: bool
    #: -1 when there is nothing to answer with (small talk)
    confidence: float

    def answered(self, threshold: float) -> bool:
        return self.confidence >= threshold


def outcomes(
    kb: KnowledgeBase,
    questions: list[Question],
    second: tuple[float, float],
    bm25_z_cap: float | None,
) -> list[Outcome]:
    """Every question answered with the second opinion's (weight, share) and this cap."""
    config = kb.config
    retriever = Retriever(
        kb.require().retriever.index,
        kb.encoder,
        config.bm25_weight,
        config.sparse_weight,
        *second,
        bm25_z_cap=bm25_z_cap,
    )
    answerer = KnowledgeAnswerer(retriever, kb.phrase, 0.0)
    result = []
    for question in questions:
        answer = answerer.decide(question.text, question.lang)
        right = bool(answer.source and question.expect and matches(answer.source, question.expect))
        confidence = answer.confidence if answer.source else -1.0
        result.append(Outcome(question.expect is None, right, confidence))
    return result


def rates(table: list[Outcome], picked: list[int], threshold: float) -> tuple[float, float, float]:
    """(top-1 of in-domain, abstain of off-topic, wrong of all) over ``picked``."""
    inside = [table[i] for i in picked if not table[i].off_topic]
    outside = [table[i] for i in picked if table[i].off_topic]
    correct = sum(o.right and o.answered(threshold) for o in inside)
    wrong = sum(not o.right and o.answered(threshold) for o in inside)
    wrong += sum(o.answered(threshold) for o in outside)
    abstained = sum(not o.answered(threshold) for o in outside)
    return correct / len(inside), abstained / len(outside), wrong / len(picked)


def halves(
    tables: dict[tuple[float, float], list[Outcome]], splits: int, seed: int
) -> tuple[float, float, float]:
    """Mean rates on the unseen halves, settings chosen on the other half each time."""
    any_table = next(iter(tables.values()))
    inside = [i for i, o in enumerate(any_table) if not o.off_topic]
    outside = [i for i, o in enumerate(any_table) if o.off_topic]
    rng = random.Random(seed)
    totals = [0.0, 0.0, 0.0]
    for _ in range(splits):
        chosen = set(rng.sample(inside, len(inside) // 2) + rng.sample(outside, len(outside) // 2))
        seen = sorted(chosen)
        unseen = [i for i in range(len(any_table)) if i not in chosen]
        best: tuple[float, tuple[float, float], float] | None = None
        for key, table in tables.items():
            for threshold in THRESHOLDS:
                top1, abstain, wrong = rates(table, seen, threshold)
                objective = top1 + abstain - 3 * wrong
                if best is None or objective > best[0]:
                    best = (objective, key, threshold)
        assert best is not None
        for k, value in enumerate(rates(tables[best[1]], unseen, best[2])):
            totals[k] += value / splits
    return totals[0], totals[1], totals[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-c", "--config", type=Path, default=REPO / "config.example.yaml")
    parser.add_argument("--splits", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("questions", type=Path, nargs="*", default=list(DEFAULT_SETS))
    args = parser.parse_args()
    kb = open_knowledge(load_config(args.config))
    sets = {path.name: load_questions(path) for path in args.questions}
    pooled = [question for questions in sets.values() for question in questions]
    # every setting answers the same questions: their model vectors are computed once
    kb.encoder.cache_size = max(kb.encoder.cache_size, len(pooled))
    opinion = kb.config.second_opinion
    threshold = kb.config.min_confidence
    print(f"{len(pooled)} questions from {', '.join(sets)}; {args.splits} splits in half")
    with_second = [(w, s) for w in WEIGHTS for s in SHARES]
    shipped = (opinion.weight, opinion.confidence_share)
    # name: (BM25 z cap, second-opinion settings to choose from, the default among them)
    peers: dict[str, tuple[float | None, list[tuple[float, float]], tuple[float, float]]] = {
        f"shipped (BM25 z capped at {BM25_Z_CAP:g})": (BM25_Z_CAP, with_second, shipped),
        "BM25 z uncapped": (None, with_second, shipped),
        "e5 alone (no second opinion)": (BM25_Z_CAP, [(0.0, 0.0)], (0.0, 0.0)),
    }
    for name, (cap, grid, default) in peers.items():
        tables = {second: outcomes(kb, pooled, second, cap) for second in grid}
        top1, abstain, wrong = halves(tables, args.splits, args.seed)
        print(f"\n{name}: unseen halves top-1 {top1:.1%}, abstain {abstain:.1%}, wrong {wrong:.1%}")
        start = 0
        for set_name, questions in sets.items():
            picked = list(range(start, start + len(questions)))
            start += len(questions)
            top1, abstain, wrong = rates(tables[default], picked, threshold)
            print(
                f"  {set_name} at the defaults (min_confidence {threshold:g}): "
                f"top-1 {top1:.1%}, abstain {abstain:.1%}, wrong {wrong:.1%}"
            )


if __name__ == "__main__":
    main()
