"""Knowledge sources → chunks: Markdown by headings, YAML FAQ, plain text.

Finds the files behind ``knowledge.sources`` and reads each with its reader:
:mod:`knowledge.faq` for an FAQ file, :mod:`knowledge.markdown` for a guide or plain text.
The chunks and the error for a file that cannot be read are in :mod:`knowledge.chunks`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from knowledge.chunks import Chunk, SourceError
from knowledge.faq import entry_chunks, read_faq
from knowledge.glossary import is_glossary
from knowledge.learning import LEARNED_FILE, Learned
from knowledge.markdown import markdown_chunks, plain_chunks
from knowledge.source_files import (
    FAQ_SUFFIXES,
    MARKDOWN_SUFFIXES,
    SUPPORTED_SUFFIXES,
    source_problem,
)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def discover(paths: Iterable[Path]) -> list[Path]:
    """Files behind ``knowledge.sources`` (folders are searched recursively)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    child
                    for child in path.rglob("*")
                    if child.is_file()
                    and child.suffix.lower() in SUPPORTED_SUFFIXES
                    and not _is_question_set(child)
                    and not is_glossary(child)
                )
            )
        elif is_glossary(path):
            continue  # the shop's glossary (knowledge/glossary.py), not knowledge
        else:
            problem = source_problem(path)
            if problem is not None:
                raise SourceError(problem)
            found.append(path)
    return list(dict.fromkeys(found))


def _is_question_set(path: Path) -> bool:
    """Evaluation sets (``*questions*.yaml``) sit next to KBs but are not knowledge."""
    return path.suffix.lower() in FAQ_SUFFIXES and "question" in path.stem.lower()


def load_file(path: Path, learned: Learned | None = None) -> list[Chunk]:
    """``path``'s chunks; an FAQ file's entries with the paraphrases admins taught them."""
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if suffix in FAQ_SUFFIXES:
        entries = read_faq(text, path)
        if learned:
            entries, _ = learned.merge(path.name, entries)
        return list(entry_chunks(path.name, entries, path))
    if suffix in MARKDOWN_SUFFIXES:
        return list(markdown_chunks(path.name, text, path))
    return list(plain_chunks(path.name, text))


def learned_chunks(learned: Learned, defined: set[str]) -> list[Chunk]:
    """The taught entries no file defines (``defined``: sources already chunked), with
    the paraphrases taught for them, cited as ``learned.yaml#learned-<n>``."""
    entries = [entry.as_faq() for entry in learned.taught_entries(defined)]
    merged, _ = learned.merge(LEARNED_FILE, entries)
    return list(entry_chunks(LEARNED_FILE, merged, "taught entries (database)"))
