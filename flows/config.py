"""``flows:`` — the trust-first member journey: the flows feature's own config section
(``Feature.config``; the core does not know it)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, ValidationInfo, field_validator, model_validator

from bot.config.checks import config_dir_of, resolve_folders
from bot.config.duration import Duration
from bot.config.section import Section
from bot.i18n import SUPPORTED

if TYPE_CHECKING:
    from bot.config.model import WarmlineConfig

#: the top-level key, the feature's name
SECTION = "flows"

_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_PLUGIN = re.compile(r"^([A-Za-z_]\w*(\.[A-Za-z_]\w*)*|[^:]+\.py)(:[A-Za-z_]\w*)?$")
_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


class OfferConfig(Section):
    #: trust score (0–100) a member needs before any offer
    min_trust: float = Field(default=50.0, ge=0, le=100)
    #: days since joining before any offer
    min_days: int = Field(default=7, ge=0)
    #: value messages delivered since the last offer before the next one
    value_per_offer: int = Field(default=4, ge=0)
    #: minimum time between two offers; each "not now" doubles it for that member
    cooldown: Duration = timedelta(days=14)
    #: where "interested" sends the member; empty: an admin is told instead
    product_url: str | None = None


class TrustWeights(Section):
    """Points per signal; the sum is clamped to 0–100 (see README: trust score)."""

    per_day: float = 1.0
    max_days: float = 30.0
    message: float = 1.0
    max_messages: float = 20.0
    reply: float = 3.0
    question: float = 6.0
    opened: float = 2.0
    button: float = 3.0
    purchase: float = 20.0
    decline: float = -5.0
    complaint: float = -20.0


class ContentConfig(Section):
    #: time between two value messages to the same member
    cadence: Duration = timedelta(days=3)
    #: member-local time of day for content slots ("HH:MM"); null: exactly every cadence
    send_at: str | None = "10:00"
    #: first value message this long after the member starts the bot
    first_after: Duration = timedelta(days=1)
    #: extra directories of content items (Markdown/YAML), besides the playbook's own
    directories: list[str] = Field(default_factory=list)

    @field_validator("send_at")
    @classmethod
    def _clock_time(cls, value: str | None) -> str | None:
        if value is not None and not _CLOCK.match(value.strip()):
            raise ValueError(f'must be "HH:MM" (24 h clock) or null (got {value!r})')
        return value.strip() if value else value


class ProductConfig(Section):
    #: what members read: one name, or one per language (``{en: Spring green tea, zh: 春茶}``)
    name: str | dict[str, str]
    #: how long one purchase lasts; 0: no repurchase reminder
    cycle: Duration = timedelta(0)
    #: remind this long before the cycle ends
    remind_before: Duration = timedelta(days=3)
    tags: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _names(cls, value: str | dict[str, str]) -> str | dict[str, str]:
        if isinstance(value, str):
            if not value.strip():
                raise ValueError("a product needs a name")
            return value.strip()
        unknown = sorted(set(value) - set(SUPPORTED))
        if unknown:
            raise ValueError(f"names are per language {list(SUPPORTED)} (got {unknown})")
        if not value or not all(name.strip() for name in value.values()):
            raise ValueError("a product needs a non-empty name in each language given")
        return {lang: name.strip() for lang, name in value.items()}

    def name_in(self, lang: str) -> str:
        """The name in ``lang``; else English, else any one given (never half a sentence
        in another language when the shop gave the name in the member's)."""
        if isinstance(self.name, str):
            return self.name
        return self.name.get(lang) or self.name.get("en") or next(iter(self.name.values()))


class PointsConfig(Section):
    referrer: int = Field(default=100, ge=0)
    friend: int = Field(default=50, ge=0)


class TierThreshold(Section):
    min_orders: int = Field(default=1, ge=0)
    min_spent: float = Field(default=0.0, ge=0)
    #: the last order must be within this long
    within: Duration = timedelta(days=180)


class TiersConfig(Section):
    active: TierThreshold = TierThreshold(min_orders=1, min_spent=0, within=timedelta(days=90))
    core: TierThreshold = TierThreshold(min_orders=3, min_spent=300, within=timedelta(days=60))


class OrdersConfig(Section):
    #: HMAC-SHA256 secret for ``POST /hooks/orders``; null disables the hook
    webhook_secret: str | None = None
    path: str = "/hooks/orders"
    #: an order amount above this is refused (400 naming ``amount``): a typo or an
    #: attack, never a sale, and one 1e308 row breaks every sum after it
    max_amount: float = Field(default=1_000_000.0, gt=0, le=1e12)
    #: an order time (``at``) older than this, or more than a day ahead, is refused
    max_age: Duration = timedelta(days=3650)


class GreetingsConfig(Section):
    birthday: bool = False
    #: ``MM-DD: catalog-key-suffix`` pairs, e.g. ``"01-01": new_year``
    holidays: dict[str, str] = Field(default_factory=dict)

    @field_validator("holidays")
    @classmethod
    def _month_days(cls, value: dict[str, str]) -> dict[str, str]:
        for day, key in value.items():
            if not _MONTH_DAY.match(day):
                raise ValueError(f"holiday dates are MM-DD (got {day!r})")
            if not key.isidentifier():
                raise ValueError(f"holiday {day}: the text key must be a plain name (got {key!r})")
        return value


#: how late a step of each kind (its ``do:`` action) may still run; ``default`` for the rest
DEFAULT_LATENESS: dict[str, timedelta] = {
    "default": timedelta(days=1),
    # steps that send nothing always run, however late (a journey must still open)
    "open_journey": timedelta(0),
    "trust_signal": timedelta(0),
    "tag": timedelta(0),
    # greetings, thank-yous, care tips, satisfaction checks: a day late is the limit
    "message": timedelta(days=1),
    # a welcome in the group is an answer to the join: an hour later nobody knows why
    "group_welcome": timedelta(hours=1),
    "value_content": timedelta(days=1),
    "offer": timedelta(hours=12),
    "holiday": timedelta(days=1),
    # the product is still running out a few days later: the reminder still helps
    "repurchase": timedelta(days=7),
}


class FlowsConfig(Section):
    enabled: bool = True
    #: extra flow definition directories; of flows with the same name the higher version runs
    directories: list[str] = Field(default_factory=list)
    #: Python modules with custom step actions and guards: ``package.module:function``,
    #: or a file ``steps.py:function`` (relative to the config file); without
    #: ``:function`` their ``register``. Each is called with the app's step registry.
    steps: list[str] = Field(default_factory=list)
    #: how often the engine fires due timers and cadence slots; 0: only when called
    tick: Duration = timedelta(minutes=1)
    offer: OfferConfig = OfferConfig()
    trust: TrustWeights = TrustWeights()
    content: ContentConfig = ContentConfig()
    products: dict[str, ProductConfig] = Field(default_factory=dict)
    points: PointsConfig = PointsConfig()
    tiers: TiersConfig = TiersConfig()
    orders: OrdersConfig = OrdersConfig()
    greetings: GreetingsConfig = GreetingsConfig()
    #: per step kind (action name): past ``due + bound`` a step is skipped as ``stale``;
    #: ``0`` = no bound; keys given here replace the defaults one by one
    lateness: dict[str, Duration] = Field(default_factory=lambda: dict(DEFAULT_LATENESS))

    @field_validator("steps")
    @classmethod
    def _importable_names(cls, value: list[str]) -> list[str]:
        for spec in value:
            if not _PLUGIN.match(spec):
                raise ValueError(
                    "must look like package.module, package.module:function or "
                    f"file.py:function (got {spec!r})"
                )
        return value

    @field_validator("lateness")
    @classmethod
    def _lateness_defaults(cls, value: dict[str, timedelta]) -> dict[str, timedelta]:
        for kind in value:
            if not re.fullmatch(r"[a-z0-9_]{1,40}", kind):
                raise ValueError(
                    f"step kinds are action names like message or repurchase (got {kind!r})"
                )
        return {**DEFAULT_LATENESS, **value}

    @model_validator(mode="after")
    def _folders_exist(self, info: ValidationInfo) -> FlowsConfig:
        """Loaded from a file: extra flow and content folders are relative to it, and exist."""
        config_dir = config_dir_of(info)
        if config_dir is None:
            return self
        self.directories = resolve_folders(
            self.directories, config_dir, "directories", "flow directory"
        )
        self.content.directories = resolve_folders(
            self.content.directories, config_dir, "content.directories", "content directory"
        )
        self.steps = [resolve_step_file(spec, config_dir) for spec in self.steps]
        return self

    def bound(self, kind: str) -> timedelta:
        """The lateness bound of a step kind (0: none)."""
        return self.lateness.get(kind, self.lateness["default"])


def resolve_step_file(spec: str, config_dir: Path) -> str:
    """A ``flows.steps`` file (``steps.py[:function]``) relative to the config's folder."""
    path, colon, function = spec.partition(":")
    if not path.endswith(".py"):
        return spec
    file = Path(path).expanduser()
    return str(file if file.is_absolute() else config_dir / file) + colon + function


def flows_config(config: WarmlineConfig) -> FlowsConfig:
    """The ``flows:`` section of ``config`` (its defaults when flows are not loaded)."""
    return config.section(SECTION, FlowsConfig)
