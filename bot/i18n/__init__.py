"""Message catalogs (en, zh): every user-facing string comes from here.

``locales/<lang>/<feature>.yaml`` files are merged per language, so each
feature keeps its own texts; a key present in one language only is an error.
A custom flow folder may bring its own ``locales/<lang>/*.yaml`` (:meth:`Catalog.extend`).

A text that says how many of something is written once per plural form
(``one:``, ``other:`` … as CLDR names them for that language) and picked by the
``count`` value: English needs ``one`` and ``other``, Chinese only ``other``.
"""

from __future__ import annotations

from pathlib import Path
from string import Formatter
from typing import Any

import yaml
from babel import Locale

LOCALES = Path(__file__).with_name("locales")
SUPPORTED = ("en", "zh")
#: language codes with their names in that language, for "which languages exist"
LANGUAGE_NAMES = {"en": "English", "zh": "中文"}
#: CLDR plural categories; a mapping of these (with ``other``) is one plural text
PLURAL_FORMS = frozenset({"zero", "one", "two", "few", "many", "other"})


def normalise_language(code: str | None, default: str = "en") -> str:
    """Map platform codes (``zh-hans``, ``en-GB``) to a catalog we have."""
    if not code:
        return default
    short = _SHORT.get(code)
    if short is None:
        short = code.lower().replace("_", "-").split("-")[0]
        if len(_SHORT) < 1024:  # codes come from platforms: few, but not trusted to be
            _SHORT[code] = short
    return short if short in SUPPORTED else default


#: language code → its primary subtag, as worked out once (every text asks)
_SHORT: dict[str, str] = {}


class Catalog:
    """Flat ``dotted.key → template`` maps per language, loaded once."""

    def __init__(self, directory: Path = LOCALES, default: str = "en") -> None:
        self.default = default
        self._texts: dict[str, dict[str, str]] = {}
        self._plurals: dict[str, dict[str, dict[str, str]]] = {}
        self._rules = {lang: Locale.parse(lang).plural_form for lang in SUPPORTED}
        for lang in SUPPORTED:
            self._texts[lang], self._plurals[lang] = self._read(directory / lang, lang)
        missing = self.keys("en") ^ self.keys("zh")
        if missing:
            raise ValueError(f"catalog keys present in one language only: {sorted(missing)}")

    def _read(self, folder: Path, lang: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        """One language's ``*.yaml`` files merged; a key in two files is an error."""
        from bot.config.safe_yaml import safe_load  # bot.config imports this module

        merged: dict[str, str] = {}
        plurals: dict[str, dict[str, str]] = {}
        for path in sorted(folder.glob("*.yaml")):
            try:
                tree = safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise ValueError(f"{path}: not valid YAML: {exc}") from None
            if not isinstance(tree, dict):
                raise ValueError(f"{path}: a catalog is a mapping of keys to texts")
            entries, forms = _flatten(tree), _plural_nodes(tree)
            clash = (merged.keys() | plurals.keys()) & (entries.keys() | forms.keys())
            if clash:
                raise ValueError(f"{path}: keys defined twice: {sorted(clash)}")
            merged.update(entries)
            plurals.update(forms)
        self._check_plural_forms(lang, plurals)
        return merged, plurals

    def extend(self, directory: Path) -> dict[str, set[str]]:
        """Add the texts of ``directory/<lang>/*.yaml`` (a custom flow's own catalog);
        they replace shipped texts of the same key. Returns the keys added per language."""
        langs = sorted(p.name for p in directory.iterdir() if p.is_dir())
        unknown = [lang for lang in langs if lang not in SUPPORTED]
        if unknown:
            raise ValueError(
                f"{directory}: no catalog language {unknown}; languages: {', '.join(SUPPORTED)}"
            )
        added: dict[str, set[str]] = {}
        for lang in langs:
            entries, forms = self._read(directory / lang, lang)
            for key in entries.keys() | forms.keys():  # a text may turn plural or back
                self._texts[lang].pop(key, None)
                self._plurals[lang].pop(key, None)
            self._texts[lang].update(entries)
            self._plurals[lang].update(forms)
            added[lang] = entries.keys() | forms.keys()
        if len(added) > 1:
            union = set().union(*added.values())
            lacking = {lang: sorted(union - keys) for lang, keys in added.items() if union - keys}
            if lacking:
                raise ValueError(f"{directory}: keys missing in some languages: {lacking}")
        return added

    def _check_plural_forms(self, lang: str, plurals: dict[str, dict[str, str]]) -> None:
        needed = set(self._rules[lang].tags) | {"other"}
        for key, forms in plurals.items():
            if not needed <= forms.keys():
                raise ValueError(
                    f"{lang}: {key} needs the plural forms {sorted(needed)} (has {sorted(forms)})"
                )

    def add(self, lang: str, entries: dict[str, Any]) -> None:
        """Let a feature package contribute its own keys."""
        self._texts.setdefault(lang, {}).update(_flatten(entries))
        self._plurals.setdefault(lang, {}).update(_plural_nodes(entries))

    def t(self, lang: str | None, key: str, **values: Any) -> str:
        code = normalise_language(lang, self.default)
        if code not in self._texts:
            code = self.default
        template = self._template(code, key, values) or self._template(self.default, key, values)
        if template is None:
            raise KeyError(f"no text for {key!r}")
        return template.format(**values) if values else template

    def _template(self, lang: str, key: str, values: dict[str, Any]) -> str | None:
        forms = self._plurals.get(lang, {}).get(key)
        if forms is None:
            return self._texts.get(lang, {}).get(key)
        if "count" not in values:
            raise KeyError(f"{key!r} has plural forms: it needs a count value")
        return forms.get(self.plural_form(lang, values["count"])) or forms["other"]

    def plural_form(self, lang: str, count: Any) -> str:
        """CLDR's plural category of ``count`` in ``lang`` (``one``, ``other`` …)."""
        try:
            number = abs(float(count))
        except (TypeError, ValueError):
            return "other"
        value = int(number) if number.is_integer() else number
        return str(self._rules[lang](value))

    def has(self, key: str, lang: str | None = None) -> bool:
        """Whether ``key`` has a text (for labels that may be new, like a gate reason)."""
        code = lang or self.default
        return key in self._texts[code] or key in self._plurals[code]

    @property
    def languages(self) -> list[str]:
        return list(self._texts)

    def keys(self, lang: str = "en") -> set[str]:
        return set(self._texts[lang]) | set(self._plurals[lang])

    def fields(self, lang: str, key: str) -> set[str]:
        forms = self._plurals[lang].get(key)
        templates = forms.values() if forms else [self._texts[lang][key]]
        return {
            name for template in templates for _, name, _, _ in Formatter().parse(template) if name
        }


def _is_plural(value: Any) -> bool:
    return isinstance(value, dict) and "other" in value and set(value) <= PLURAL_FORMS


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if _is_plural(value):
            continue
        if isinstance(value, dict):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = str(value)
    return flat


def _plural_nodes(tree: dict[str, Any], prefix: str = "") -> dict[str, dict[str, str]]:
    nodes: dict[str, dict[str, str]] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if _is_plural(value):
            nodes[dotted] = {form: str(text) for form, text in value.items()}
        elif isinstance(value, dict):
            nodes.update(_plural_nodes(value, dotted + "."))
    return nodes
