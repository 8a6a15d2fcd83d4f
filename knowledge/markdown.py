"""Prose sources → chunks: a Markdown guide by its headings (with the member wordings a
section lists in a ``<!-- questions: -->`` comment), plain text in numbered pieces.

Both cut a long text into overlapping pieces the same way, so they live together,
apart from the FAQ reader (:mod:`knowledge.faq`) and the file dispatch
(:mod:`knowledge.documents`).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import yaml
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from bot.config.safe_yaml import safe_load
from knowledge.chunks import Chunk, SourceError
from knowledge.text import detect_language

#: sections longer than this are split further, with overlap
CHUNK_SIZE = 900
CHUNK_OVERLAP = 120


#: a section's member wordings: ``<!-- questions:`` + a YAML list + ``-->`` (a comment, so
#: a rendered guide never shows them)
_QUESTIONS_BLOCK = re.compile(r"<!--[ \t]*questions[ \t]*:(.*?)-->", re.DOTALL)
_QUESTIONS_OPEN = re.compile(r"<!--[ \t]*questions[ \t]*:")
#: what a block is replaced with before the text is split at headings (one line, which the
#: splitter keeps as it is), then taken out of its section
_MARKER = "<!--warmline-questions-{}-->"
_MARKER_LINE = re.compile(r"^<!--warmline-questions-(\d+)-->$")
_HEADING = re.compile(r"^#{1,3}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def markdown_chunks(name: str, text: str, where: Path | str | None = None) -> Iterator[Chunk]:
    """Sections under ``#``/``##``/``###`` headings, cited by their nearest heading.

    The indexed text starts with the heading path below the document title
    ("Storage > Pu-erh"), so a ``### Pu-erh`` under ``## Storage`` is found for
    storage questions and not for brewing ones; the member is shown the nearest
    heading and the text.

    A section may list the ways members ask for it in a comment, a YAML list:
    ``<!-- questions:`` / ``- how much leaf for a big mug?`` / ``-->``. Each wording is
    indexed like an FAQ alternate (role ``alternate``, "wording\nsection text", cited as
    the section); the block is never shown nor embedded with the section's text.
    """
    where = where if where is not None else name
    lang = detect_language(_QUESTIONS_BLOCK.sub("", text))
    text, blocks = _take_question_blocks(text, where)
    splitter = MarkdownHeaderTextSplitter(
        headers_to_split_on=[("#", "h1"), ("##", "h2"), ("###", "h3")], strip_headers=True
    )
    for section in splitter.split_text(text):
        path = [str(section.metadata[key]) for key in ("h1", "h2", "h3") if key in section.metadata]
        heading = path[-1] if path else ""
        if len(path) > 1 and "h1" in section.metadata:
            path = path[1:]  # the document's title: shared by every section, tells none apart
        body, phrases = _section_questions(section.page_content, blocks)
        if not body:
            if phrases:
                raise SourceError(f"{where}: section {heading!r} has questions but no text")
            continue
        source = f"{name}#{heading}" if heading else name
        title = heading or name
        section_lang = lang
        for number, piece in enumerate(_split_long(body)):
            shown = f"{heading}\n{piece}" if heading else piece
            chunk_lang = detect_language(shown, lang)
            if number == 0:
                section_lang = chunk_lang
            yield Chunk(
                source=source,
                lang=chunk_lang,
                text=f"{' > '.join(path)}\n{piece}" if path else piece,
                answers={chunk_lang: shown},
                title=title,
            )
        # like an FAQ alternate: the wording with the whole section, answered with it
        answers = {section_lang: f"{heading}\n{body}" if heading else body}
        for phrase in phrases:
            phrase_lang = detect_language(phrase, section_lang)
            yield Chunk(source, phrase_lang, f"{phrase}\n{body}", answers, title, (), "alternate")


def _take_question_blocks(text: str, where: Path | str) -> tuple[str, dict[int, list[str]]]:
    """``text`` with each questions block replaced by a marker line, and the wordings
    behind each marker (read before splitting, so a ``#`` in a block is never a heading)."""
    blocks: dict[int, list[str]] = {}

    def take(match: re.Match[str]) -> str:
        section = _section_at(text, match.start())
        body = textwrap.dedent(match.group(1).lstrip(" \t").removeprefix("\n"))
        try:
            value = safe_load(body) if body.strip() else None
        except yaml.YAMLError as exc:
            problem = " ".join(str(exc).split())
            raise SourceError(
                f"{where}: section {section!r}: the questions block is not a YAML list: {problem}"
            ) from None
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise SourceError(
                f"{where}: section {section!r}: questions must be a list of non-empty strings"
            )
        blocks[len(blocks)] = list(dict.fromkeys(v.strip() for v in value))
        return "\n" + _MARKER.format(len(blocks) - 1) + "\n"

    replaced = _QUESTIONS_BLOCK.sub(take, text)
    unclosed = _QUESTIONS_OPEN.search(replaced)
    if unclosed is not None:
        section = _section_at(replaced, unclosed.start())
        raise SourceError(
            f"{where}: section {section!r}: '<!-- questions:' is never closed with '-->'"
        )
    return replaced, blocks


def _section_at(text: str, position: int) -> str:
    """The heading of the section ``position`` is in (for an error message)."""
    headings = _HEADING.findall(text, 0, position)
    return headings[-1] if headings else "(before the first heading)"


def _section_questions(content: str, blocks: dict[int, list[str]]) -> tuple[str, list[str]]:
    """A section's text without its questions markers, and the wordings they stood for."""
    if "<!--warmline-questions-" not in content:
        return content.strip(), []
    kept: list[str] = []
    phrases: list[str] = []
    for line in content.split("\n"):
        marker = _MARKER_LINE.match(line.strip())
        if marker is None:
            kept.append(line)
        else:
            phrases.extend(blocks[int(marker.group(1))])
    body = "\n".join(kept).strip()
    return body, list(dict.fromkeys(phrases))


def plain_chunks(name: str, text: str) -> Iterator[Chunk]:
    """Plain text in overlapping pieces, cited as ``notes.txt#1``, ``#2``, …"""
    lang = detect_language(text)
    for number, piece in enumerate(_split_long(text.strip()), start=1):
        yield Chunk(
            source=f"{name}#{number}",
            lang=detect_language(piece, lang),
            text=piece,
            title=piece.splitlines()[0][:60] if piece else name,
        )


def _split_long(text: str) -> list[str]:
    if len(text) <= CHUNK_SIZE:
        return [text] if text else []
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_SIZE,
        chunk_overlap=CHUNK_OVERLAP,
        separators=["\n\n", "\n", "。", ". ", "！", "？", "; ", "，", ", ", " ", ""],
    )
    return [piece.strip() for piece in splitter.split_text(text) if piece.strip()]
