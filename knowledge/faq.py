"""An FAQ file (a YAML list of entries) → chunks: one per entry and language, one per
alternate wording, and the ``not_for`` examples with the questions they are weighed against.

FAQ chunks carry the answer in every language the entry has, so a member
is answered in their own language whichever wording matched. Also reads the
entries admins taught (:func:`knowledge.documents.learned_chunks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from bot.config.safe_yaml import safe_load
from knowledge.chunks import Chunk, SourceError
from knowledge.text import detect_language

LANGUAGES = ("zh", "en")


def faq_chunks(name: str, text: str, where: Path | str) -> Iterator[Chunk]:
    """One chunk per entry and language: ``question_<lang>`` + ``answer_<lang>``; one per
    alternate wording (``questions_<lang>``) and per ``not_for`` example."""
    return entry_chunks(name, read_faq(text, where), where)


def read_faq(text: str, where: Path | str) -> list[Any]:
    """An FAQ file's list of entries (checked one by one by :func:`entry_chunks`)."""
    try:
        entries = safe_load(text)
    except yaml.YAMLError as exc:
        raise SourceError(f"{where}: not valid YAML: {exc}") from None
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise SourceError(f"{where}: an FAQ file must be a list of entries")
    return entries


def entry_chunks(name: str, entries: list[Any], where: Path | str) -> Iterator[Chunk]:
    """The chunks of FAQ ``entries`` read from the file called ``name``."""
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not entry.get("id"):
            raise SourceError(f"{where}: entry {number} needs an 'id'")
        entry_id = str(entry["id"])
        if entry_id in seen:
            raise SourceError(f"{where}: id {entry_id!r} is used twice")
        seen.add(entry_id)
        answers = {
            lang: str(entry[f"answer_{lang}"]).strip()
            for lang in LANGUAGES
            if entry.get(f"answer_{lang}")
        }
        if not answers:
            raise SourceError(f"{where}: entry {entry_id!r} has no answer_zh or answer_en")
        tags = tuple(str(t) for t in entry.get("tags") or ())
        titles = {lang: str(entry.get(f"question_{lang}") or "").strip() for lang in LANGUAGES}
        for lang, answer in answers.items():
            question = titles[lang]
            yield Chunk(
                source=f"{name}#{entry_id}",
                lang=lang,
                text=f"{question}\n{answer}" if question else answer,
                answers=answers,
                title=question or entry_id,
                tags=tags,
            )
        has_not_for = bool(_phrases(entry, "not_for", where, entry_id, None))
        for lang in LANGUAGES:
            title = titles[lang] or next((t for t in titles.values() if t), entry_id)
            # an alternate is indexed with the entry's answer, like the main question, so a
            # short question alone is not favoured over the other entries' question + answer
            answer = answers.get(lang, "")
            alternates = _phrases(entry, f"questions_{lang}", where, entry_id, None)
            for phrase in alternates:
                text = f"{phrase}\n{answer}" if answer else phrase
                yield Chunk(f"{name}#{entry_id}", lang, text, answers, title, tags, "alternate")
            if not has_not_for:
                continue
            # not_for examples are weighed against the entry's own questions, both alone
            own = ([titles[lang]] if titles[lang] else []) + alternates
            for role, phrases in (
                ("question", own),
                ("not_for", _phrases(entry, "not_for", where, entry_id, lang)),
            ):
                for phrase in phrases:
                    yield Chunk(f"{name}#{entry_id}", lang, phrase, answers, title, tags, role)


def _phrases(
    entry: dict[str, Any], key: str, where: Path | str, entry_id: str, lang: str | None
) -> list[str]:
    """A list of strings under ``key`` (``not_for`` items are kept in the language
    ``lang`` they are written in, so each is indexed once)."""
    value = entry.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SourceError(f"{where}: entry {entry_id!r}: {key} must be a list of non-empty strings")
    phrases = [v.strip() for v in value]
    if lang is not None:
        phrases = [p for p in phrases if detect_language(p) == lang]
    return phrases
