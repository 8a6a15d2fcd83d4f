"""Chinese typos from pinyin input: a wrong character that sounds right.

Members type pinyin and pick characters from the input method's list; a slip
picks a homophone (包油 for 包邮, 无流 for 物流, 发漂 for 发票). A reader does
not notice, but the model and BM25 see another word, and the question drifts
off-topic. Like the English fixer in :mod:`knowledge.query`, a typed pair of
characters is corrected only towards the KB's own wording and only when it is
evidently not a word: the KB never uses it, jieba's dictionary does not know
it, and a pair the KB uses often sounds the same (tones ignored, as input
methods ignore them) and shares a character with it in the same place.

The other slip of a pinyin input method is no pick at all: "fapiao怎么开" leaves
the word in pinyin, which neither BM25 nor the model meet with 发票. In a question
with Chinese in it, a Latin word that spells (tones ignored) exactly a two-character
word the KB uses often is read as that word.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import jieba
from bm25s.stopwords import STOPWORDS_CHINESE
from pypinyin import lazy_pinyin

#: a KB pair must occur this often to count as its wording (not a chance neighbour)
MIN_KB_COUNT = 2

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
#: a run of Latin letters long enough to be two syllables of pinyin
_LATIN_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]{4,12}(?![A-Za-z])")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,}")
#: every overlapping pair of neighbouring Chinese characters
_HAN_PAIR = re.compile(r"(?=([\u3400-\u4dbf\u4e00-\u9fff]{2}))")
#: function characters (的, 和, 吗, …): never the slip, never the fix
_FUNCTION_CHARS = frozenset(word for word in STOPWORDS_CHINESE if len(word) == 1)


@lru_cache(maxsize=65536)
def sound(char: str) -> str:
    """Toneless pinyin of one character (its most common reading)."""
    return lazy_pinyin(char)[0]


class HomophoneFixer:
    def __init__(self, pairs: Counter[str]) -> None:
        #: every pair of neighbouring Chinese characters in the KB, with its count
        self.pairs = pairs
        self._by_sound: dict[tuple[str, str], list[str]] = {}
        #: "fapiao" → 发票: the KB's most frequent word spelt so (a word in jieba's dictionary)
        self._by_spelling: dict[str, str] = {}
        for pair, count in pairs.most_common():
            if count >= MIN_KB_COUNT:
                sounds = (sound(pair[0]), sound(pair[1]))
                self._by_sound.setdefault(sounds, []).append(pair)
                if _is_word(pair) and all(s.isascii() and s.isalpha() for s in sounds):
                    self._by_spelling.setdefault("".join(sounds), pair)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> HomophoneFixer:
        jieba.initialize()  # its dictionary tells real words from slips
        pairs: Counter[str] = Counter()
        for text in texts:
            pairs.update(_HAN_PAIR.findall(text))
        return cls(pairs)

    def __call__(self, text: str) -> str:
        if not self._by_sound:
            return text
        if self._by_spelling and _HAN.search(text):
            text = _LATIN_WORD.sub(
                lambda match: self._by_spelling.get(match.group().lower(), match.group()), text
            )
        return _HAN_RUN.sub(lambda match: self._fixed_run(match.group()), text)

    def _fixed_run(self, run: str) -> str:
        chars = list(run)
        i = 0
        while i < len(chars) - 1:
            typed = chars[i] + chars[i + 1]
            meant = self._meant(typed)
            if meant is None or self._anchored(chars, i, 0 if meant[0] != typed[0] else 1):
                i += 1
                continue
            chars[i : i + 2] = list(meant)
            i += 2
        return "".join(chars)

    def _anchored(self, chars: list[str], i: int, changed: int) -> bool:
        """Whether the character to change makes a KB pair with its other neighbour:
        in 有小包装 the 小 belongs to 小包, so 有小 is two words side by side, not 有效."""
        at = i + changed
        if changed == 0:
            other = chars[at - 1] + chars[at] if at > 0 else ""
        else:
            other = chars[at] + chars[at + 1] if at + 1 < len(chars) else ""
        return bool(other) and (other in self.pairs or _is_word(other))

    def _meant(self, typed: str) -> str | None:
        if typed in self.pairs or _is_word(typed):
            return None
        for pair in self._by_sound.get((sound(typed[0]), sound(typed[1])), ()):
            differ = [(a, b) for a, b in zip(typed, pair, strict=True) if a != b]
            if len(differ) == 1 and not set(differ[0]) & _FUNCTION_CHARS:
                return pair  # the KB's most frequent pair that sounds the same
        return None


def _is_word(pair: str) -> bool:
    """In jieba's dictionary (事实, 公司): a real word, not a slip."""
    return bool(jieba.dt.FREQ.get(pair))
