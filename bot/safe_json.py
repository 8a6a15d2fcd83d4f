"""JSON from strangers: bounded nesting and numbers, or a clear error.

``json.loads`` alone turns hostile bodies into 500s — deep nesting raises
``RecursionError``, a 5,000-digit integer ``ValueError`` from the int parser —
and accepts ``NaN``, ``Infinity`` and ``1e999`` (which becomes infinity). Here
each of those is a :class:`BadJson` saying what is wrong.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: deeper than any Telegram update or shop order (about 6 levels)
MAX_DEPTH = 64
#: an integer beyond 64 bits is no id, count or amount we store
MAX_INT_DIGITS = 19


class BadJson(ValueError):
    """The body is not JSON we accept; the message says why."""


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadJson(f"integer with {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJson(f"number {text[:32]} is out of range")
    return value


def _no_constant(text: str) -> Any:
    raise BadJson(f"{text} is not a JSON number")


def load_json(raw: bytes | str) -> Any:
    """Parse ``raw``; :class:`BadJson` for invalid, too deep or out-of-range input."""
    try:
        value = json.loads(
            raw,
            parse_int=_bounded_int,
            parse_float=_finite_float,
            parse_constant=_no_constant,
        )
    except BadJson:
        raise
    except RecursionError:
        raise BadJson(f"nested deeper than {MAX_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise BadJson("not UTF-8") from None
    except ValueError:
        raise BadJson("not valid JSON") from None
    _check_depth(value)
    return value


def _check_depth(value: Any) -> None:
    level: list[Any] = [value]
    for _ in range(MAX_DEPTH):
        deeper: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                deeper.extend(v for v in item.values() if isinstance(v, dict | list))
            elif isinstance(item, list):
                deeper.extend(v for v in item if isinstance(v, dict | list))
        if not deeper:
            return
        level = deeper
    raise BadJson(f"nested deeper than {MAX_DEPTH} levels")
