"""Several question sets side by side, hybrid retrieval only, one model load.

``warmline kb eval`` scores one set under every retrieval mode (five model
passes per question); comparing a tuning set with its blind sets needs only
the shipped mode, per language, with the in-domain abstentions counted apart
from the clarifying questions. Columns, per set and language:

- top-1: in-domain questions answered with the expected source;
- abstain: in-domain questions the bot handed off or kept quiet on;
- clarify: in-domain questions answered with a clarifying question;
- handed off: must-hand-off asks (off-topic, complaint, risky) handed off;
- wrong: answers with another source, over every question (as ``kb eval``).

Run: ``python bench/kb_sets.py [-c CONFIG] [--misses] [--why-wrong] [--half 1|2] SET.yaml ...``
(default: the tuning set, the two old blind sets and the fourth set). ``--half`` keeps one
half of each set, split by the crc32 of the question text (stable, independent of order):
settings chosen on half 1 are reported on half 2, the halves check of a tuning set.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config.loader import load_config
from knowledge.cli import open_knowledge
from knowledge.contract import Answer
from knowledge.evaluation import Question, Tally, handed_off, load_questions

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SETS = (
    REPO / "bench/kb_tune_questions.yaml",
    REPO / "bench/kb_blind_en.yaml",
    REPO / "bench/kb_blind_zh.yaml",
    REPO / "bench/kb_fourth_questions.yaml",
)


def pct(part: int, whole: int) -> str:
    return f"{part / whole:6.1%} ({part}/{whole})" if whole else "     -"


def row(name: str, lang: str, tally: Tally, abstained: int) -> str:
    return (
        f"{name:28} {lang:3} top-1 {pct(tally.correct, tally.in_domain):16} "
        f"abstain {pct(abstained, tally.in_domain):15} "
        f"clarify {pct(tally.clarified, tally.in_domain):15} "
        f"handed off {pct(tally.abstained_ood, tally.out_of_domain):16} "
        f"wrong {pct(tally.wrong, tally.total)}"
    )


def in_half(question: Question, half: int | None) -> bool:
    """Whether ``question`` belongs to ``half`` (1 or 2; None keeps every question)."""
    return half is None or zlib.crc32(question.text.encode("utf-8")) % 2 == half - 1


def describe(answer: Answer) -> str:
    got = f"clarify {'|'.join(answer.clarify)}" if answer.clarify else str(answer.source)
    return f"{got} ({answer.confidence:.2f}{', handoff' if answer.handoff else ''})"


def wrong_kind(question: Question, answer: Answer) -> str:
    """What a wrong answer was: another entry for a KB question, or a must-hand-off ask
    answered, or handed off beside an entry the set did not expect."""
    if not question.must_hand_off:
        return "in-domain, another entry"
    kind = question.kind or "offtopic"
    if handed_off(answer):
        return f"{kind} handed off beside another entry"
    return f"{kind} answered"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("sets", nargs="*", type=Path, default=list(DEFAULT_SETS))
    parser.add_argument("-c", "--config", type=Path, default=REPO / "bench/kb_config.yaml")
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument(
        "--why-wrong", action="store_true", help="count the wrong answers by what went wrong"
    )
    parser.add_argument("--half", type=int, choices=(1, 2), help="keep one half of each set")
    args = parser.parse_args()
    answerer = open_knowledge(load_config(args.config)).require()
    for path in args.sets:
        tallies: dict[str, Tally] = {}
        abstained: dict[str, int] = {}
        misses: list[tuple[Question, Answer]] = []
        why_wrong: Counter[tuple[str, str]] = Counter()
        for question in load_questions(path):
            if not in_half(question, args.half):
                continue
            answer = answerer.decide(question.text, question.lang or None)
            lang = question.lang or "?"
            tally = tallies.setdefault(lang, Tally())
            before = (tally.correct, tally.abstained_ood)
            wrong_before = tally.wrong
            tally.add(question, answer)
            in_domain_quiet = not question.must_hand_off and handed_off(answer)
            abstained[lang] = abstained.get(lang, 0) + in_domain_quiet
            if (tally.correct, tally.abstained_ood) == before:
                misses.append((question, answer))
            if tally.wrong > wrong_before:
                why_wrong[lang, wrong_kind(question, answer)] += 1
        for lang in sorted(tallies):
            name = path.name if args.half is None else f"{path.name} (half {args.half})"
            print(row(name, lang, tallies[lang], abstained[lang]))
            kinds = ", ".join(
                f"{kind} {done}/{asked}"
                for kind, (done, asked) in sorted(tallies[lang].kinds.items())
            )
            print(f"{'':32} handed off by kind: {kinds}")
        if args.why_wrong:
            for (lang, kind), count in sorted(why_wrong.items()):
                print(f"{'':32} wrong [{lang}] {kind}: {count}")
        if args.misses:
            for question, answer in misses:
                print(f"  miss [{question.lang}] {question.text!r} "
                      f"expected {question.expect} got {describe(answer)}")  # fmt: skip


if __name__ == "__main__":
    main()
