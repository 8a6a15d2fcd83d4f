"""A shop's own glossary: the words its members use for its things, and the KB's words.

Members call a tea "tgy" or "dhp", a ripe pu-erh "shou puer", a payment "visa";
the KB writes "Tieguanyin", "Da Hong Pao", "ripe pu-erh", "card". No general list
can know a shop's slang, and its merchant does: a ``glossary.yaml`` in a knowledge
source folder (or listed as a source) maps each member's word to the KB's words::

    tgy: Tieguanyin
    shou puer: ripe pu-erh
    visa: card

The retriever searches with those words instead (both the lexical and the dense
side read the spelt-out question; the member still sees what they wrote), and the
off-topic check reads them too, so "tgy steep time?" is about tea. A term counts as
a whole word (:class:`knowledge.shorthand.Shorthand`); Chinese terms anywhere.

A glossary is help, not knowledge: a broken one must not keep the bot from
answering. Its problems are returned (and logged) with the file and line, the
entries that are fine are used, and an unreadable file counts as empty.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.config.safe_yaml import compose_and_load

log = logging.getLogger("warmline.knowledge")

#: the file names a glossary is found by in a source folder
GLOSSARY_NAMES = frozenset({"glossary.yaml", "glossary.yml"})


@dataclass(slots=True)
class Glossary:
    #: member's word (lower case) → the KB's words
    terms: dict[str, str] = field(default_factory=dict)
    #: "file:line: what is wrong" for every entry (or file) that was skipped
    problems: list[str] = field(default_factory=list)


def is_glossary(path: Path) -> bool:
    return path.name.lower() in GLOSSARY_NAMES


def glossary_files(sources: Iterable[Path]) -> list[Path]:
    """The glossary files among ``sources`` (folders searched recursively, like the KB)."""
    found: list[Path] = []
    for source in sources:
        if source.is_dir():
            found.extend(sorted(p for p in source.rglob("*") if p.is_file() and is_glossary(p)))
        elif source.is_file() and is_glossary(source):
            found.append(source)
    return list(dict.fromkeys(found))


def load_glossaries(sources: Iterable[Path]) -> Glossary:
    """Every glossary of ``sources`` merged (a later file's term wins); problems logged."""
    merged = Glossary()
    for path in glossary_files(sources):
        one = read_glossary(path)
        merged.terms.update(one.terms)
        merged.problems.extend(one.problems)
    for problem in merged.problems:
        log.warning("knowledge glossary: %s (entry skipped)", problem)
    return merged


def read_glossary(path: Path) -> Glossary:
    """``path``'s terms and the problems of the entries left out."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Glossary(problems=[f"{path}: cannot read it ({exc})"])
    return parse_glossary(text, str(path))


def parse_glossary(text: str, where: str) -> Glossary:
    """A glossary's terms from YAML ``text`` (``where`` names it in problems)."""
    try:
        node, _ = compose_and_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        return Glossary(problems=[f"{where}{line}: not valid YAML ({_one_line(exc)})"])
    glossary = Glossary()
    if node is None:
        return glossary
    if not isinstance(node, yaml.MappingNode):
        glossary.problems.append(
            f"{where}:{node.start_mark.line + 1}: a glossary is a mapping of "
            "'member word: KB words' lines"
        )
        return glossary
    for key, value in node.value:
        at = f"{where}:{key.start_mark.line + 1}"
        term, words = _scalar(key), _scalar(value)
        if not term:
            glossary.problems.append(f"{at}: the member's word must be non-empty text")
        elif not words:
            glossary.problems.append(f"{at}: {term!r} needs the KB's words as non-empty text")
        elif term.lower() in glossary.terms:
            glossary.problems.append(f"{at}: {term!r} is listed twice (the first is kept)")
        else:
            glossary.terms[term.lower()] = words
    return glossary


def _scalar(node: yaml.Node) -> str:
    """A scalar's text, stripped ("" for a list, a mapping or null)."""
    if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
        return ""
    return str(node.value).strip()


def _one_line(exc: yaml.YAMLError) -> str:
    return str(getattr(exc, "problem", None) or exc).splitlines()[0]
