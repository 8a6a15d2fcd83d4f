"""Member time zones: a name from storage or config, resolved once per process.

Quiet hours (the push gate) and send slots (the flows) must agree on a member's
local time, so both resolve zones here.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=512)
def known_zone(name: str) -> ZoneInfo | None:
    """The zone called ``name``, or None when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def member_zone(name: str | None, default: str) -> ZoneInfo:
    """The member's own zone when it is valid, else the configured default."""
    zone = known_zone(name) if name else None
    if zone is not None:
        return zone
    fallback = known_zone(default)
    if fallback is None:
        raise ValueError(f"unknown time zone {default!r}")
    return fallback
