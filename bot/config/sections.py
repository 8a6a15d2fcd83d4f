"""Features' own config sections, read beside the core's; and platforms' own, below ``bot``.

A feature (``bot.features.Feature.config``) names a pydantic model for the top-level key
named like the feature. The key is the feature's name so that the section of an installed
feature can be told from a typo without importing anything. The sections of the loaded
features (``features:``, absent: all installed) are validated with the core's, and an
error names ``<feature>.<key>`` and its line like any other. The section of an installed
feature that ``features:`` leaves out is kept out of the way and noted, not checked: one
may switch a feature off without deleting its settings. Any other unknown top-level key
stays an error.

A platform (``bot.platforms.Platform.config``) names a model for ``bot.<platform>``
the same way: the section of a registered platform is validated whenever it is there, the
chosen platform's start check runs on it (absent or not), and errors name
``bot.<platform>.<key>``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.config.checks import KeyProblem
from bot.config.http import HttpConfig, merge_alias
from bot.errors import ConfigError
from bot.features import feature_names, load_features
from bot.platforms import DEFAULT, platforms


def split_sections(data: Any, core: Collection[str]) -> tuple[Any, dict[str, Any]]:
    """``data`` without the top-level keys that are installed features' sections, and those."""
    if not isinstance(data, Mapping):
        return data, {}
    others = [key for key in data if key not in core]
    if not others:
        return data, {}
    installed = set(feature_names())
    sections = {key: data[key] for key in others if key in installed}
    return {key: value for key, value in data.items() if key not in sections}, sections


def validate_sections(
    raw: Mapping[str, Any], chosen: list[str] | None, core: Collection[str], context: Any
) -> tuple[dict[str, BaseModel], list[str]]:
    """The loaded features' sections, validated (an absent one: the model's defaults), and
    the keys of sections whose feature is not loaded. Raises a ValidationError whose
    locations start at the feature's key, so the loader explains it like the core's.
    ``context`` carries the validated core config
    (:func:`bot.config.checks.core_config_of`), for a section's checks against it."""
    sections: dict[str, BaseModel] = {}
    errors: list[InitErrorDetails] = []
    loaded = set()
    for feature in load_features(chosen):
        loaded.add(feature.name)
        if feature.config is None:
            if feature.name in raw:
                errors.append(_error((feature.name,), "the feature has no config section"))
            continue
        if feature.name in core:
            raise ConfigError(
                f"feature {feature.name!r}: its config section would be the core's "
                f"{feature.name!r} section; rename the feature"
            )
        try:
            sections[feature.name] = feature.config.model_validate(
                raw.get(feature.name) or {}, context=context
            )
        except ValidationError as exc:
            errors.extend(_below(feature.name, exc))
    if errors:
        raise ValidationError.from_exception_data("WarmlineConfig", errors)
    return sections, sorted(key for key in raw if key not in loaded)


def as_given(data: Any) -> tuple[str, list[str] | None]:
    """``bot.platform`` and ``features`` as written, for checking the sections of a config
    whose core did not validate (what cannot be read: the defaults)."""
    bot = data.get("bot") if isinstance(data, Mapping) else None
    platform = bot.get("platform") if isinstance(bot, Mapping) else None
    features = data.get("features") if isinstance(data, Mapping) else None
    chosen = [str(name) for name in features] if isinstance(features, list) else None
    return (platform if isinstance(platform, str) else DEFAULT), chosen


def split_platform_sections(data: Any, core: Collection[str]) -> tuple[Any, dict[str, Any]]:
    """``data`` without the ``bot.<platform>`` sections registered platforms declare
    (the core's own ``bot`` keys aside), and those; an empty (null) one is left out."""
    bot = data.get("bot") if isinstance(data, Mapping) else None
    if not isinstance(bot, Mapping):
        return data, {}
    declared = {
        name for name, platform in platforms().items() if platform.config and name not in core
    }
    found = {key: bot[key] for key in bot if key in declared}
    if not found:
        return data, {}
    left = {key: value for key, value in bot.items() if key not in found}
    return {**data, "bot": left}, {key: value for key, value in found.items() if value is not None}


def validate_platform_sections(
    raw: Mapping[str, Any], chosen: str, context: Any
) -> dict[str, BaseModel]:
    """The platforms' sections, validated, and the chosen platform's start check (run
    when its own section is valid). Raises a ValidationError located from the top of the
    config file."""
    registered = platforms()
    sections: dict[str, BaseModel] = {}
    errors: list[InitErrorDetails] = []
    invalid = set()
    for name, value in raw.items():
        model = registered[name].config
        if model is None:  # split_platform_sections takes declared sections only
            continue
        try:
            sections[name] = model.model_validate(value, context=context)
        except ValidationError as exc:
            invalid.add(name)
            errors.extend(_below(("bot", name), exc))
    platform = registered.get(chosen)
    if chosen not in invalid and platform is not None and platform.start_problem is not None:
        problem = platform.start_problem(sections.get(chosen))
        if problem is not None:
            errors.append(_error(("bot", *problem[0].split(".")), problem[1]))
    if errors:
        raise ValidationError.from_exception_data("WarmlineConfig", errors)
    return sections


class Errors:
    """The errors of the core's validation and of the sections', reported together, as
    pydantic reports every error of one model (a typo in ``storage`` does not hide one
    in ``flows``)."""

    def __init__(self) -> None:
        self._found: list[ValidationError] = []

    @contextmanager
    def gather(self) -> Iterator[None]:
        """Run a validation; its ValidationError is kept for :meth:`raise_any`."""
        try:
            yield
        except ValidationError as exc:
            self._found.append(exc)

    def raise_any(self) -> None:
        if len(self._found) == 1:
            raise self._found[0]
        if self._found:
            details = [detail for exc in self._found for detail in _below((), exc)]
            raise ValidationError.from_exception_data("WarmlineConfig", details)


def merge_platform_aliases(http: HttpConfig, sections: Mapping[str, BaseModel]) -> list[str]:
    """The platforms' deprecated keys (``Platform.http_aliases``) carried to ``http.*``;
    the warnings to show. Raises a ValidationError naming ``http.<key>`` when both are
    set, differently."""
    registered = platforms()
    notes: list[str] = []
    errors: list[InitErrorDetails] = []
    for name, section in sections.items():
        for old, new in registered[name].http_aliases.items():
            value: Any = section
            for part in old.split("."):
                value = getattr(value, part)
            if value is None:
                continue
            try:
                notes.append(merge_alias(http, new, value, f"bot.{name}.{old}"))
            except KeyProblem as problem:
                errors.append(_error(tuple(problem.key.split(".")), str(problem)))
    if errors:
        raise ValidationError.from_exception_data("WarmlineConfig", errors)
    return notes


def _below(key: str | tuple[str, ...], exc: ValidationError) -> list[InitErrorDetails]:
    """The section's errors, located from the top of the config file."""
    prefix = (key,) if isinstance(key, str) else key
    found: list[InitErrorDetails] = []
    for error in exc.errors():
        detail: InitErrorDetails = {
            "type": error["type"],
            "loc": (*prefix, *error["loc"]),
            "input": error["input"],
        }
        if "ctx" in error:
            detail["ctx"] = error["ctx"]
            cause = error["ctx"].get("error")
            if isinstance(cause, KeyProblem) and cause.from_top:
                detail["loc"] = ()
        try:  # a core error type: the loader explains it as it explains the core's
            ValidationError.from_exception_data("check", [detail])
        except (KeyError, TypeError, ValueError):  # the model's own error type
            detail = _error(detail["loc"], error["msg"], error["input"])
        found.append(detail)
    return found


def _error(loc: tuple[str | int, ...], message: str, given: Any = None) -> InitErrorDetails:
    return {
        "type": PydanticCustomError("feature_section", "{message}", {"message": message}),
        "loc": loc,
        "input": given,
    }
