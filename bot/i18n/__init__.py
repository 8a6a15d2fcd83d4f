"""Message catalogs (en, zh): every user-facing string comes from here.

``locales/<lang>/<feature>.yaml`` files are merged per language, so each
feature keeps its own texts; a key present in one language only is an error.
"""

from __future__ import annotations

from pathlib import Path
from string import Formatter
from typing import Any

import yaml

LOCALES = Path(__file__).with_name("locales")
SUPPORTED = ("en", "zh")


def normalise_language(code: str | None, default: str = "en") -> str:
    """Map platform codes (``zh-hans``, ``en-GB``) to a catalog we have."""
    if not code:
        return default
    short = code.lower().replace("_", "-").split("-")[0]
    return short if short in SUPPORTED else default


class Catalog:
    """Flat ``dotted.key → template`` maps per language, loaded once."""

    def __init__(self, directory: Path = LOCALES, default: str = "en") -> None:
        self.default = default
        self._texts: dict[str, dict[str, str]] = {}
        for lang in SUPPORTED:
            merged: dict[str, str] = {}
            for path in sorted((directory / lang).glob("*.yaml")):
                entries = _flatten(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
                clash = merged.keys() & entries.keys()
                if clash:
                    raise ValueError(f"{path}: keys defined twice: {sorted(clash)}")
                merged.update(entries)
            self._texts[lang] = merged
        missing = set(self._texts["en"]) ^ set(self._texts["zh"])
        if missing:
            raise ValueError(f"catalog keys present in one language only: {sorted(missing)}")

    def add(self, lang: str, entries: dict[str, Any]) -> None:
        """Let a feature package contribute its own keys."""
        self._texts.setdefault(lang, {}).update(_flatten(entries))

    def t(self, lang: str | None, key: str, **values: Any) -> str:
        texts = self._texts.get(normalise_language(lang, self.default)) or self._texts[self.default]
        template = texts.get(key) or self._texts[self.default].get(key)
        if template is None:
            raise KeyError(f"no text for {key!r}")
        return template.format(**values) if values else template

    def keys(self, lang: str = "en") -> set[str]:
        return set(self._texts[lang])

    def fields(self, lang: str, key: str) -> set[str]:
        return {name for _, name, _, _ in Formatter().parse(self._texts[lang][key]) if name}


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = str(value)
    return flat
