"""Language detection, tokenisation for BM25, and small-talk detection.

Chinese is segmented with jieba, English is stemmed (Snowball) so that
"shipping"/"shipped" meet; stop words of both languages are dropped.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

import jieba
import Stemmer
from bm25s.stopwords import STOPWORDS_CHINESE, STOPWORDS_EN_PLUS

from knowledge.script import to_simplified

jieba.setLogLevel(logging.WARNING)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"\w")
_STOP = frozenset(STOPWORDS_CHINESE) | frozenset(STOPWORDS_EN_PLUS)

#: short social messages that are not questions, in both languages
_SMALL_TALK = frozenset(
    {
        "hi", "hello", "hey", "hiya", "yo", "morning", "good morning", "good evening",
        "good afternoon", "good night", "thanks", "thank you", "thanks a lot", "thank you so much", "many thanks", "thx", "ty", "ok", "okay",
        "cool", "great", "nice", "bye", "goodbye", "see you", "lol", "haha", "anyone there",
        "are you there", "you there", "hello there", "hi there", "how are you",
        "你好", "您好", "在吗", "在不在", "在么", "有人吗", "有人在吗", "哈喽", "嗨", "早",
        "早上好", "早安", "晚上好", "晚安", "下午好", "谢谢", "多谢", "谢啦", "感谢", "好的",
        "好", "嗯", "嗯嗯", "哦", "哈哈", "哈哈哈", "拜拜", "再见", "收到", "ok了", "你好呀",
        "在吗亲", "亲在吗", "亲", "老板在吗", "客服在吗",
    }
)  # fmt: skip


#: greetings first, longest first, so "hi there" is stripped whole rather than as "hi"
_GREETINGS = tuple(sorted(_SMALL_TALK, key=len, reverse=True))
_SEPARATOR = re.compile(r"[\s,，.。!！?？~～、:：;；]+")


def detect_language(text: str, fallback: str = "en") -> str:
    """``zh`` when Chinese characters carry the text, ``en`` when Latin letters do."""
    cjk = len(_CJK.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    if cjk == 0 and latin_words == 0:
        return fallback
    # one Chinese character carries about as much as one English word
    return "zh" if cjk >= latin_words else "en"


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Terms for BM25: jieba words (search mode) plus character bigrams for Chinese,
    stems for English.

    Bigrams let a paraphrase meet the FAQ when jieba cuts the two differently
    ("小包装" vs "小包"), the usual weak spot of word-only Chinese BM25.
    """
    stem = _stemmer().stemWord
    terms: list[str] = []
    for raw in jieba.lcut_for_search(text.lower()):
        word = raw.strip()
        if not word or not _WORD.search(word) or word in _STOP:
            continue
        terms.append(stem(word) if word.isascii() else word)
    for run in _CJK_RUN.findall(text):
        terms.extend(run[i : i + 2] for i in range(len(run) - 1))
    return terms


def normalise(text: str) -> str:
    """Lower-case, full-width folded, punctuation and emoji removed, spaces squeezed."""
    folded = unicodedata.normalize("NFKC", text).lower()
    kept = "".join(ch if (ch.isalnum() or ch.isspace()) else " " for ch in folded)
    return " ".join(kept.split())


def strip_greeting(text: str) -> str:
    """The message without the greetings in front of its question:
    "hi there, how do I…" → "how do I…", "亲，在吗？请问…" → "请问…".

    A greeting counts only when punctuation or a space follows it, so the
    "好" of "好喝吗" stays."""
    rest = text
    while True:
        for phrase in _GREETINGS:
            if rest[: len(phrase)].lower() != phrase:
                continue
            separator = _SEPARATOR.match(rest, len(phrase))
            if separator is not None:
                rest = rest[separator.end() :]
                break
        else:
            return rest


def is_small_talk(text: str) -> bool:
    """Greetings, thanks, "?" and the like: they deserve a friendly word, not an FAQ."""
    core = to_simplified(normalise(text))  # the phrases are listed in Simplified
    if not core:
        return True  # only punctuation or emoji
    if core in _SMALL_TALK:
        return True
    # "hi there!!", "你好 在吗": every piece is small talk
    pieces = core.split()
    if len(pieces) > 1 and all(piece in _SMALL_TALK for piece in pieces):
        return True
    # a greeting followed by the bot's name or a particle: "hello bot", "在吗在吗"
    for phrase in _SMALL_TALK:
        if len(phrase) >= 2 and core.startswith(phrase):
            rest = core[len(phrase) :].strip()
            if not rest or rest in _SMALL_TALK or (not _CJK.search(rest) and len(rest) <= 3):
                return True
            if _CJK.search(phrase) and rest in {"呀", "啊", "哈", "呢", "哦", "么", "吗", "亲"}:
                return True
    return not _LATIN.search(core) and not _CJK.search(core)  # e.g. "??" or "666"
