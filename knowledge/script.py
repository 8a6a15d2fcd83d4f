"""Traditional and Simplified Chinese searched as one script.

Members in Hong Kong, Taiwan and overseas write Traditional characters; most
KBs are Simplified (some the other way round). The model and BM25 see
different characters for the same words (滿多少包郵 / 满多少包邮), so a question
in the other script looks off-topic and is handed off. Questions are
converted to the script the KB is written in with OpenCC, which converts
phrases, not just characters (头发 → 頭髮, 皇后 stays 皇后).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from itertools import islice
from typing import Literal

import opencc

Script = Literal["simplified", "traditional"]
#: KB texts looked at to tell its script (enough to be sure, cheap on a 10k-chunk KB)
SCRIPT_SAMPLE = 200

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=2)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    return str(_converter("t2s").convert(text)) if _HAN.search(text) else text


def to_traditional(text: str) -> str:
    return str(_converter("s2t").convert(text)) if _HAN.search(text) else text


def to_script(text: str, script: Script) -> str:
    return to_traditional(text) if script == "traditional" else to_simplified(text)


def dominant_script(texts: Iterable[str], default: Script = "simplified") -> Script:
    """The script the texts' Chinese is written in: the one that conversion *to* it
    changes least (``default`` when no character tells, e.g. 你好 or no Chinese)."""
    chinese = list(islice((text for text in texts if _HAN.search(text)), SCRIPT_SAMPLE))
    traditional_only = sum(_changed(text, to_simplified(text)) for text in chinese)
    simplified_only = sum(_changed(text, to_traditional(text)) for text in chinese)
    if traditional_only == simplified_only:
        return default
    return "traditional" if traditional_only > simplified_only else "simplified"


def _changed(before: str, after: str) -> int:
    return sum(a != b for a, b in zip(before, after, strict=False)) + abs(len(before) - len(after))
