"""``push:`` — the gate every proactive message passes: the push feature's own config
section (``Feature.config``; the core does not know it).

Public contract: ``push.caps.per_day``, ``push.caps.per_week``, ``push.min_gap``,
``push.quiet_hours``, ``push.timezone``, ``push.categories.<name>.per_day|per_week``.
``push.timezone`` is also the shop's zone for members whose own is unknown (the journey's
content slots, admin views); those features read it here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator, model_validator

from bot.adapter import Pacing
from bot.config.checks import KeyProblem, core_config_of
from bot.config.duration import Duration
from bot.config.section import Section
from bot.extras import missing

if TYPE_CHECKING:
    from bot.config.model import WarmlineConfig

#: the top-level key, the feature's name
SECTION = "push"

CATEGORY_NAMES = ("greeting", "value", "offer", "after_sales", "broadcast")
_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class CapConfig(Section):
    """Rolling windows: ``per_day`` = last 24 h, ``per_week`` = last 7 days; null = no cap."""

    per_day: int | None = Field(default=None, ge=0)
    per_week: int | None = Field(default=None, ge=0)


class PacingConfig(Section):
    """Platform send limits; unset, the adapter's own (``adapter.limits.pacing``)."""

    per_second: float | None = Field(default=None, gt=0)
    per_chat_per_second: float | None = Field(default=None, gt=0)
    per_group_per_minute: int | None = Field(default=None, ge=1)
    #: how often one message is retried after 429s/network errors before it is deferred
    max_retries: int = Field(default=5, ge=0)

    def over(self, platform: Pacing) -> Pacing:
        """These limits where set, the platform's defaults where not."""
        return Pacing(
            per_second=self.per_second or platform.per_second,
            per_chat_per_second=self.per_chat_per_second or platform.per_chat_per_second,
            per_group_per_minute=self.per_group_per_minute or platform.per_group_per_minute,
        )


class SchedulerConfig(Section):
    enabled: bool = True
    #: Redis lease: the holder renews it every third of this; a dead holder is replaced after it
    lease_ttl: Duration = timedelta(seconds=15)
    #: a job that fires later than this after its time (bot was down) still runs once
    misfire_grace: Duration = timedelta(hours=6)


class CatchUpConfig(Section):
    """Pacing of work that fell due while the bot was down (flow steps, content slots,
    the waiting line's messages)."""

    #: due longer ago than this is backlog, released at ``per_minute``
    late_after: Duration = timedelta(minutes=10)
    #: backlog items released per minute (by each worker); 0: no pacing
    per_minute: int = Field(default=60, ge=0)


#: how long after its turn a message of the waiting line may still go out (0: no bound)
DEFAULT_LATENESS: dict[str, timedelta] = {
    "greeting": timedelta(days=1),
    "value": timedelta(days=1),
    "offer": timedelta(hours=12),
    "after_sales": timedelta(days=2),
    "broadcast": timedelta(days=1),
    # an order confirmation is still news days later
    "transactional": timedelta(0),
    "reply": timedelta(0),
}


class CampaignsConfig(Section):
    """Broadcast fan-out (README "Running several workers")."""

    #: members submitted to the gate at once by one worker's fan-out
    concurrency: int = Field(default=32, ge=1, le=1024)
    #: the sending worker renews its lease every third of this; if it dies, another
    #: worker takes the broadcast over after at most this long (plus a third)
    lease_ttl: Duration = timedelta(seconds=10)
    #: on platforms whose broadcasts are mass-send tasks (WeCom): how often their
    #: outcomes are read back, and how long staff may take to confirm them
    mass_poll: Duration = timedelta(seconds=30)
    mass_wait: Duration = timedelta(days=1)

    @field_validator("lease_ttl")
    @classmethod
    def _lease_positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return value


class PushConfig(Section):
    caps: CapConfig = CapConfig(per_day=2, per_week=6)
    min_gap: Duration = timedelta(hours=4)
    quiet_hours: str | None = "22:00-08:00"
    timezone: str = "Asia/Shanghai"
    categories: dict[str, CapConfig] = Field(default_factory=dict)
    #: bot posts per group in any 24 h (null: no cap)
    group_per_day: int | None = Field(default=3, ge=0)
    #: where the gate keeps its counters: auto = redis when storage.redis_url is set, else sql
    backend: Literal["auto", "memory", "sql", "redis"] = "auto"
    #: the kill switch at start-up when nothing is stored yet
    paused: bool = False
    #: while paused, deferred messages are re-checked this often
    pause_recheck: Duration = timedelta(minutes=10)
    #: a message key is remembered this long (a re-submit within it is a duplicate)
    key_ttl: Duration = timedelta(days=30)
    #: how often a broadcast's progress message is edited
    progress_every: Duration = timedelta(seconds=2)
    pacing: PacingConfig = PacingConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    #: per category: a waiting message whose turn came longer ago than this (the bot was
    #: down) is dropped as ``stale``; keys given replace the defaults one by one
    lateness: dict[str, Duration] = Field(default_factory=lambda: dict(DEFAULT_LATENESS))
    catch_up: CatchUpConfig = CatchUpConfig()

    @field_validator("lateness")
    @classmethod
    def _lateness_categories(cls, value: dict[str, timedelta]) -> dict[str, timedelta]:
        _only_known_categories(value, DEFAULT_LATENESS)
        return {**DEFAULT_LATENESS, **value}

    campaigns: CampaignsConfig = CampaignsConfig()
    #: a promotional message the gate cannot check (its backend unreachable) is
    #: deferred and retried after this long
    unavailable_retry: Duration = timedelta(minutes=1)

    @field_validator("unavailable_retry")
    @classmethod
    def _retry_positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be positive (e.g. 60s)")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_window(cls, value: str | None) -> str | None:
        if value is not None and not _QUIET.match(value.strip()):
            raise ValueError(f'must be "HH:MM-HH:MM" (24 h clock) or null (got {value!r})')
        return value.strip() if value else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: dict[str, CapConfig]) -> dict[str, CapConfig]:
        _only_known_categories(value, CATEGORY_NAMES)
        return value

    @model_validator(mode="after")
    def _storage_fits(self, info: ValidationInfo) -> PushConfig:
        """What the gate's backend and the scheduler need of ``storage``."""
        core = core_config_of(info)
        if core is None:  # validated on its own, or the core did not validate
            return self
        if self.backend == "redis" and not core.storage.redis_url:
            raise KeyProblem("backend", "redis needs storage.redis_url")
        if core.storage.database_url.startswith("postgresql") and self.scheduler.enabled:
            problem = missing("psycopg", "the scheduler's job store on PostgreSQL")
            if problem is not None:
                raise KeyProblem("storage.database_url", problem, from_top=True)
        return self


def push_config(config: WarmlineConfig) -> PushConfig:
    """The ``push:`` section of ``config`` (its defaults when push is not loaded)."""
    return config.section(SECTION, PushConfig)


def _only_known_categories(given: Iterable[str], known: Iterable[str]) -> None:
    """A per-category setting names only categories the gate has."""
    names = list(known)
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(
            f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
            f"known: {', '.join(names)}"
        )
