"""Could a learned rule over the retriever's own signals answer more questions right?

The hand-written decision (``knowledge/answerer.py``: answer, ask back or hand off, by the
confidence, the runner-up's lead and the off-topic test) and the fused ranking are fitted
on the seen sets; a logistic model over the same signals could be better at either. This
script fits two on one half of the seen questions and scores them on the other half (the
crc32 halves of ``kb_sets.py --half``), beside the shipped rule:

- *decision*: P(the best candidate is the expected entry) from 12 features of the best two
  candidates (both models' calibrated similarities, fused score, leads, confidence, the
  off-topic test, FAQ or guide, BM25, language); answer when P ≥ a threshold chosen on the
  training half so that it makes no more wrong answers there than the shipped rule;
- *reranking*: P(a candidate is the expected entry) for each of the best three, the
  highest answered.

It also prints how often the expected entry ranks first and among the best three: the
most a perfect decision could answer right. Only questions that reach the ranking decision count (complaints, risky asks, small talk
and other shops are screened before it and are untouched). ``--held SET`` keeps a set out
of both halves and scores the models fitted on all the rest on it.

Run: ``python bench/kb_learned_decision.py [--held kb_tenth_questions.yaml] [SET.yaml ...]``
(default: the dev set and every question set in ``bench/`` but the newest blind set).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.kb_sets import in_half
from bot.config.loader import load_config
from knowledge.cli import open_knowledge
from knowledge.evaluation import handed_off, load_questions, matches
from knowledge.retriever import Ranking, _above

REPO = Path(__file__).resolve().parent.parent
DEV_SET = REPO.parent / "shared/kb/camellia/dev_questions.yaml"
#: the blind set kept for judging the next change: never fitted on here
NEWEST_BLIND = "kb_eleventh_questions.yaml"
LANGS = ("en", "zh")


@dataclass(frozen=True, slots=True)
class Seen:
    """One question that reached the ranking decision, and what the shipped rule did."""

    set_name: str
    lang: str
    text: str
    must_hand_off: bool
    confidence: float
    off_topic: bool
    #: per candidate (best first, at most three): features, and whether it is expected
    candidates: tuple[tuple[tuple[float, ...], bool], ...]
    #: ``answer``, ``clarify`` or ``handoff``
    shipped: str
    #: 1 or 2: its half as ``kb_sets.py --half`` splits the sets
    half: int


def collect(paths: list[Path], config: Path) -> list[Seen]:
    answerer = open_knowledge(load_config(config)).require()
    retriever = answerer.retriever
    seen: list[Seen] = []
    probe: dict[str, object] = {}
    decide_from_ranking = answerer._from_ranking

    def recording(question: str, lang: str, ranking: Ranking, script: str):  # type: ignore[no-untyped-def]
        probe["ranking"] = ranking
        probe["off"] = answerer.off_topic(answerer._spelt(question))
        return decide_from_ranking(question, lang, ranking, script)  # type: ignore[arg-type]

    answerer._from_ranking = recording  # type: ignore[method-assign]
    for path in paths:
        for question in load_questions(path):
            probe.clear()
            answer = answerer.decide(question.text, question.lang or None)
            ranking = probe.get("ranking")
            if not isinstance(ranking, Ranking) or not ranking.candidates:
                continue
            calibration = retriever.index.calibration.get(ranking.lang)
            second = retriever.index.second
            second_cal = second.calibration.get(ranking.lang) if second else None
            rows = []
            for c in ranking.candidates[:3]:
                features = (
                    _above(c.dense, calibration),
                    _above(c.second, second_cal) if second_cal else 0.0,
                    c.fused,
                    math.log1p(c.lexical),
                    float(c.source.split("#", 1)[0].endswith((".yaml", ".yml"))),
                )
                expected = question.expect is not None and matches(c.source, question.expect)
                rows.append((features, expected))
            shipped = "clarify" if answer.clarify else "handoff" if handed_off(answer) else "answer"
            seen.append(
                Seen(path.name, question.lang or "?", question.text, question.must_hand_off,
                     ranking.confidence, bool(probe["off"]), tuple(rows), shipped,
                     1 if in_half(question, 1) else 2)
            )  # fmt: skip
    return seen


def decision_features(q: Seen) -> list[float]:
    (top, _), runner = q.candidates[0], q.candidates[1][0] if len(q.candidates) > 1 else None
    dense, second, fused, lexical, faq = top
    r_dense, r_second, r_fused = runner[:3] if runner else (dense - 3, second - 3, fused - 3)
    return [1.0, dense, second, fused, fused - r_fused, dense - r_dense, second - r_second,
            q.confidence, float(q.off_topic), faq, lexical, float(q.lang == "zh")]  # fmt: skip


def rank_features(q: Seen, i: int) -> list[float]:
    dense, second, fused, lexical, faq = q.candidates[i][0]
    top = q.candidates[0][0]
    zh = float(q.lang == "zh")
    return [1.0, dense, second, fused, lexical, faq, float(i == 0), float(i == 1),
            fused - top[2], dense - top[0], second - top[1], zh * dense, zh * second]  # fmt: skip


Model = Callable[[np.ndarray], np.ndarray]


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 3000) -> Model:
    """Logistic regression on standardised features (column 0 is the intercept)."""
    mean, spread = x[:, 1:].mean(0), x[:, 1:].std(0) + 1e-9

    def scaled(m: np.ndarray) -> np.ndarray:
        joined: np.ndarray = np.c_[m[:, :1], (m[:, 1:] - mean) / spread]
        return joined

    z, w = scaled(x), np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ w))
        w -= 0.5 * (z.T @ (p - y) + l2 * np.r_[0, w[1:]]) / len(y)

    def model(m: np.ndarray) -> np.ndarray:
        rated: np.ndarray = 1 / (1 + np.exp(-scaled(m) @ w))
        return rated

    return model


Rule = Callable[[Seen], tuple[str, int]]


def outcome(questions: list[Seen], rule: Rule) -> dict[str, tuple[int, int, int, int, int]]:
    """Per language: in-domain right, wrong (any answered question whose entry is not
    expected), clarified, in-domain asked, must-hand-off handed off — of those questions."""
    result = {}
    for lang in LANGS:
        right = wrong = clarified = asked = handed = 0
        for q in (q for q in questions if q.lang == lang):
            action, pick = rule(q)
            answered_ok = action == "answer" and q.candidates[pick][1]
            if q.must_hand_off:
                handed += action != "answer"
                wrong += action == "answer"
                continue
            asked += 1
            right += answered_ok
            wrong += action == "answer" and not answered_ok
            clarified += action == "clarify"
        result[lang] = (right, wrong, clarified, asked, handed)
    return result


def shipped_rule(q: Seen) -> tuple[str, int]:
    return q.shipped, 0


def learned_decision(train: list[Seen]) -> Rule:
    model = fit(
        np.array([decision_features(q) for q in train]),
        np.array([float(not q.must_hand_off and q.candidates[0][1]) for q in train]),
    )
    rated = model(np.array([decision_features(q) for q in train]))
    p = {id(q): float(v) for q, v in zip(train, rated, strict=True)}
    limit = sum(v[1] for v in outcome(train, shipped_rule).values())
    best, best_right = 0.99, -1
    for threshold in (t / 100 for t in range(30, 96)):

        def at(q: Seen, t: float = threshold) -> tuple[str, int]:
            return _by_threshold(q, p[id(q)], t)

        fitted = outcome(train, at)
        right, wrong = sum(v[0] for v in fitted.values()), sum(v[1] for v in fitted.values())
        if wrong <= limit and right > best_right:
            best, best_right = threshold, right

    def rule(q: Seen) -> tuple[str, int]:
        return _by_threshold(q, float(model(np.array([decision_features(q)]))[0]), best)

    return rule


def _by_threshold(q: Seen, p: float, threshold: float) -> tuple[str, int]:
    if p >= threshold:
        return "answer", 0
    return ("clarify" if q.shipped == "clarify" else "handoff"), 0


def learned_ranking(train: list[Seen]) -> Rule:
    """The shipped decision, but answering the candidate the model rates highest."""
    rows = [(rank_features(q, i), float(ok)) for q in train for i, (_, ok) in enumerate(q.candidates)]  # fmt: skip
    model = fit(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))

    def rule(q: Seen) -> tuple[str, int]:
        scores = model(np.array([rank_features(q, i) for i in range(len(q.candidates))]))
        return q.shipped, int(np.argmax(scores))

    return rule


def line(
    name: str, scores: dict[str, tuple[int, int, int, int, int]], out_of: dict[str, int]
) -> str:
    cells = [
        f"{lang} right {s[0]:3}/{s[3]:<3} wrong {s[1]:2} clarify {s[2]:2} handed off {s[4]}/{out_of[lang]}"
        for lang, s in scores.items()
    ]
    return f"  {name:26} " + " | ".join(cells)


def report(title: str, train: list[Seen], test: list[Seen]) -> None:
    out_of = {lang: sum(q.must_hand_off for q in test if q.lang == lang) for lang in LANGS}
    print(title)
    for lang in LANGS:
        asked = [q for q in test if q.lang == lang and not q.must_hand_off]
        first = sum(q.candidates[0][1] for q in asked)
        three = sum(any(ok for _, ok in q.candidates) for q in asked)
        print(f"  {lang}: the expected entry ranks first for {first}/{len(asked)} in-domain "
              f"questions, among the best three for {three}/{len(asked)}")  # fmt: skip
    print(line("shipped rule", outcome(test, shipped_rule), out_of))
    print(line("learned decision", outcome(test, learned_decision(train)), out_of))
    print(line("learned ranking", outcome(test, learned_ranking(train)), out_of))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("sets", nargs="*", type=Path)
    parser.add_argument("-c", "--config", type=Path, default=REPO / "bench/kb_config.yaml")
    parser.add_argument("--held", action="append", default=[], help="a set scored apart")
    args = parser.parse_args()
    every = [p for p in sorted((REPO / "bench").glob("kb_*.yaml")) if p.name != "kb_config.yaml"]
    paths = args.sets or [DEV_SET, *(p for p in every if p.name != NEWEST_BLIND)]
    seen = collect(paths, args.config)
    held = [q for q in seen if q.set_name in args.held]
    rest = [q for q in seen if q.set_name not in args.held]
    for half in (1, 2):
        train = [q for q in rest if q.half != half]
        test = [q for q in rest if q.half == half]
        report(f"fitted on half {3 - half}, scored on half {half} ({len(test)} questions)", train, test)  # fmt: skip
    if held:
        report(f"fitted on every other question, scored on {', '.join(args.held)}", rest, held)


if __name__ == "__main__":
    main()
