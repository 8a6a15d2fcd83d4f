"""Chinese homophone slips: top-1 with and without the homophone fixer.

Each in-domain Chinese question of the set gets one pinyin-input slip: a
character of a pair the KB uses (at least twice) is swapped for another
common character with the same toneless pinyin (物流 → 无流). The same noisy
questions are answered with the fixer off (the peer) and on, per seed; the
clean questions are answered too, to show the fixer changes nothing there.

Note the slips are placed where the fixer can see them (in the KB's own
wording); a slip in a word the KB never uses is out of its reach.

Run: ``python bench/kb_typos.py`` (``-c CONFIG --questions FILE --seeds N``).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import jieba
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config.loader import load_config
from knowledge.answerer import KnowledgeAnswerer
from knowledge.cli import open_knowledge
from knowledge.evaluation import matches
from knowledge.homophones import HomophoneFixer, sound

REPO = Path(__file__).resolve().parent.parent
#: characters common enough to be offered by an input method for a syllable
COMMON_CHAR_FREQ = 2000


def homophones_by_sound() -> dict[str, list[str]]:
    jieba.initialize()
    by_sound: dict[str, list[str]] = {}
    for word, freq in sorted(jieba.dt.FREQ.items()):
        if len(word) == 1 and "\u4e00" <= word <= "\u9fff" and (freq or 0) > COMMON_CHAR_FREQ:
            by_sound.setdefault(sound(word), []).append(word)
    return by_sound


def with_slip(
    text: str, fixer: HomophoneFixer, by_sound: dict[str, list[str]], rng: random.Random
) -> str | None:
    spots = [i for i in range(len(text) - 1) if fixer.pairs.get(text[i : i + 2], 0) >= 2]
    rng.shuffle(spots)
    for i in spots:
        k = i + rng.randint(0, 1)
        others = [c for c in by_sound.get(sound(text[k]), []) if c != text[k]]
        if others:
            return text[:k] + rng.choice(others) + text[k + 1 :]
    return None


def score(answerer: KnowledgeAnswerer, items: list[tuple[str, str]]) -> int:
    return sum(
        answer.source is not None and matches(answer.source, expect)
        for answer, expect in ((answerer.decide(text, "zh"), expect) for text, expect in items)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-c", "--config", type=Path, default=REPO / "config.example.yaml")
    parser.add_argument(
        "--questions", type=Path, default=REPO.parent / "shared/kb/camellia/dev_questions.yaml"
    )
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    answerer = open_knowledge(load_config(args.config)).require()
    normaliser = answerer.retriever.normalise
    fixer = normaliser.homophones
    assert fixer is not None
    questions = [
        (str(item["q"]), str(item["expect"]))
        for item in yaml.safe_load(args.questions.read_text(encoding="utf-8"))
        if item.get("lang") == "zh" and str(item["expect"]).lower() != "none"
    ]
    by_sound = homophones_by_sound()
    totals = {"off": 0, "on": 0, "n": 0}
    for seed in range(1, args.seeds + 1):
        rng = random.Random(seed)
        noisy = [
            (slipped, expect)
            for text, expect in questions
            if (slipped := with_slip(text, fixer, by_sound, rng)) is not None
        ]
        normaliser.homophones = None
        off = score(answerer, noisy)
        normaliser.homophones = fixer
        on = score(answerer, noisy)
        changed = sum(fixer(text) != text for text, _ in noisy)
        print(
            f"seed {seed}: {len(noisy)} questions with a slip; top-1 fixer off {off} "
            f"({off / len(noisy):.1%}), on {on} ({on / len(noisy):.1%}); fixer changed {changed}"
        )
        totals["off"] += off
        totals["on"] += on
        totals["n"] += len(noisy)
    normaliser.homophones = None
    clean_off = score(answerer, questions)
    normaliser.homophones = fixer
    clean_on = score(answerer, questions)
    print(
        f"all seeds: top-1 {totals['off'] / totals['n']:.1%} → {totals['on'] / totals['n']:.1%} "
        f"(ratio {totals['on'] / max(totals['off'], 1):.2f}); clean questions "
        f"{clean_off} → {clean_on} of {len(questions)}"
    )


if __name__ == "__main__":
    main()
