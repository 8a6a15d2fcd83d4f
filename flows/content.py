"""The value-content library: tips, guides and stories with tags, never prices.

Items are Markdown files with a YAML front matter block, or YAML files
holding a list of items. One item may carry texts in several languages
(``text: {en: …, zh: …}`` in YAML, or one Markdown file per language with the
same ``id``). Items are served in library order, so the choice is stable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.config.safe_yaml import safe_load
from bot.errors import ConfigError

#: value content sells nothing: amounts with a currency are refused at load time
_PRICE = re.compile(r"([$¥€£]\s?\d)|(\d+(\.\d+)?\s?(元|块|usd|eur|rmb|cny)\b)", re.IGNORECASE)
_FRONT_MATTER = re.compile(r"^---\s*\n(.*?)\n---\s*\n?(.*)$", re.DOTALL)


@dataclass(slots=True)
class ContentItem:
    id: str
    tags: frozenset[str]
    kind: str = "tip"
    texts: dict[str, str] = field(default_factory=dict)

    def text(self, lang: str, default: str = "en") -> str:
        return self.texts.get(lang) or self.texts.get(default) or next(iter(self.texts.values()))


class ContentLibrary:
    def __init__(self, items: Iterable[ContentItem] = ()) -> None:
        self._items: dict[str, ContentItem] = {}
        for item in items:
            self.add(item)

    def add(self, item: ContentItem) -> None:
        known = self._items.get(item.id)
        if known is None:
            self._items[item.id] = item
            return
        known.tags = known.tags | item.tags
        known.texts.update(item.texts)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Any:
        return iter(self._items.values())

    def get(self, item_id: str) -> ContentItem | None:
        return self._items.get(item_id)

    def choose(self, seen: Sequence[str], interests: Iterable[str] = ()) -> ContentItem | None:
        """The first unseen item matching the member's interests, else the first unseen one."""
        seen_set = set(seen)
        wanted = frozenset(interests)
        fallback: ContentItem | None = None
        for item in self._items.values():
            if item.id in seen_set:
                continue
            if not wanted or item.tags & wanted:
                return item
            if fallback is None:
                fallback = item
        return fallback

    @classmethod
    def load(cls, directories: Iterable[Path]) -> ContentLibrary:
        library = cls()
        for directory in directories:
            if not directory.is_dir():
                raise ConfigError(f"{directory}: content directory not found")
            for path in sorted(directory.rglob("*")):
                if path.suffix in {".md", ".markdown"}:
                    library.add(_markdown_item(path))
                elif path.suffix in {".yaml", ".yml"}:
                    for item in _yaml_items(path):
                        library.add(item)
        return library


def _markdown_item(path: Path) -> ContentItem:
    raw = path.read_text(encoding="utf-8")
    match = _FRONT_MATTER.match(raw)
    if match is None:
        raise ConfigError(f"{path}: a content item starts with a --- front matter block ---")
    meta = _load_yaml(path, match.group(1)) or {}
    if not isinstance(meta, dict):
        raise ConfigError(f"{path}: the front matter must be a mapping")
    lang = str(meta.get("lang", "en"))
    return _item(path, meta, {lang: match.group(2).strip()})


def _load_yaml(path: Path, text: str) -> Any:
    try:
        return safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def _yaml_items(path: Path) -> list[ContentItem]:
    data = _load_yaml(path, path.read_text(encoding="utf-8")) or []
    if isinstance(data, dict):
        data = data.get("items", [])
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a list of items (or items: [...])")
    items = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: item {index}: expected a mapping")
        texts = entry.get("text")
        if isinstance(texts, str):
            texts = {str(entry.get("lang", "en")): texts}
        if not isinstance(texts, dict) or not texts:
            raise ConfigError(f"{path}: item {index}: text is required")
        items.append(_item(path, entry, {str(k): str(v).strip() for k, v in texts.items()}))
    return items


def _item(path: Path, meta: dict[str, Any], texts: dict[str, str]) -> ContentItem:
    item_id = meta.get("id")
    if not item_id or not isinstance(item_id, str):
        raise ConfigError(f"{path}: id is required")
    tags = meta.get("tags") or []
    if not isinstance(tags, list):
        raise ConfigError(f"{path}: {item_id}: tags must be a list")
    for lang, text in texts.items():
        if not text:
            raise ConfigError(f"{path}: {item_id}: empty text ({lang})")
        price = _PRICE.search(text)
        if price:
            raise ConfigError(
                f"{path}: {item_id}: value content must not mention prices (found {price.group(0)!r})"
            )
    return ContentItem(
        id=item_id,
        tags=frozenset(str(tag) for tag in tags),
        kind=str(meta.get("kind", "tip")),
        texts=texts,
    )
