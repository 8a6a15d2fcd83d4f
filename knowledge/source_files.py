"""Which files a knowledge source may hold, by suffix: part of the `knowledge.sources`
contract, checked when the config is loaded (before the index is built)."""

from __future__ import annotations

from pathlib import Path

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
FAQ_SUFFIXES = frozenset({".yaml", ".yml"})
TEXT_SUFFIXES = frozenset({".txt", ".text"})
SUPPORTED_SUFFIXES = MARKDOWN_SUFFIXES | FAQ_SUFFIXES | TEXT_SUFFIXES


def source_problem(path: Path) -> str | None:
    """Why ``path`` cannot be a knowledge source, or None when it can."""
    if path.is_dir():
        return None
    if path.is_file():
        if path.suffix.lower() in SUPPORTED_SUFFIXES:
            return None
        return (
            f"{path}: unsupported knowledge file type (use {', '.join(sorted(SUPPORTED_SUFFIXES))})"
        )
    return f"{path}: knowledge source not found"
