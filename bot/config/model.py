"""The configuration schema. Key paths here are a public contract."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from bot.config.checks import (
    CORE_CONFIG,
    CallbackSecret,
    DatabaseUrl,
    RedisUrl,
)
from bot.config.duration import Duration
from bot.config.http import HttpConfig, HttpLimitsConfig, merge_alias
from bot.config.section import Section
from bot.config.sections import (
    Errors,
    as_given,
    merge_platform_aliases,
    split_platform_sections,
    split_sections,
    validate_platform_sections,
    validate_sections,
)
from bot.config.shop import ShopConfig
from bot.platforms import DEFAULT as DEFAULT_PLATFORM
from bot.platforms import platform_names

SectionT = TypeVar("SectionT", bound=BaseModel)


class BotConfig(Section):
    #: a registered platform's name (bot.platforms); each declares its section ``bot.<name>``
    platform: str = DEFAULT_PLATFORM
    admins: list[str] = Field(default_factory=list)
    default_language: Literal["en", "zh"] = "en"
    callback_secret: CallbackSecret = None
    max_concurrent_updates: int = Field(default=64, ge=1)
    #: deprecated: read as ``http.*``
    http: HttpLimitsConfig | None = None
    #: updates acknowledged and not yet handled; beyond it the webhook answers 429
    max_queued_updates: int = Field(default=1000, ge=1)

    #: the sections other platforms declare (``Platform.config``): ``bot.<platform>``
    _platform_sections: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    def platform_section(self, name: str, model: type[SectionT]) -> SectionT | None:
        """The section ``bot.<name>`` a registered platform declares, None when absent."""
        found = self._platform_sections.get(name)
        if found is not None and not isinstance(found, model):
            raise TypeError(f"bot.{name} is a {type(found).__name__}, not a {model}")
        return found

    @field_validator("admins", mode="before")
    @classmethod
    def _ids_as_strings(cls, value: object) -> object:
        if isinstance(value, list):
            return [str(item) for item in value]
        return value

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str) -> str:
        known = platform_names()
        if value not in known:
            raise ValueError(f"no adapter {value!r} (known: {', '.join(known)})")
        return value


class StorageConfig(Section):
    database_url: DatabaseUrl = "sqlite+aiosqlite:///warmline.db"
    redis_url: RedisUrl = None
    dedupe_ttl: Duration = timedelta(days=2)
    #: how long an inbox row a dead worker held waits before another worker takes it
    inbox_lease: Duration = Field(default=timedelta(seconds=30), gt=timedelta(0))
    echo_sql: bool = False
    #: PostgreSQL connections each worker keeps open, and may open beyond them at
    #: peaks (kept until a minute passes without such a peak); workers x (pool_size + max_overflow + 4 for the scheduler) must stay
    #: below the server's max_connections (README "Running several workers")
    pool_size: int = Field(default=5, ge=1, le=500)
    max_overflow: int = Field(default=5, ge=0, le=500)
    #: a query waits this long for a free connection before it fails
    pool_timeout: Duration = timedelta(seconds=30)


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = Field(default=False, alias="json")
    #: level for other libraries' loggers (bm25s, aiogram, …): quiet unless asked
    libraries: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"


class WarmlineConfig(Section):
    bot: BotConfig = BotConfig()
    http: HttpConfig = HttpConfig()
    storage: StorageConfig = StorageConfig()
    logging: LoggingConfig = LoggingConfig()
    shop: ShopConfig = ShopConfig()
    #: the features an App loads, by name (bot.features); absent: every installed one
    features: list[str] | None = None
    _deprecations: list[str] = PrivateAttr(default_factory=list)
    #: the loaded features' own sections (bot.config.sections), by feature name
    _sections: dict[str, BaseModel] = PrivateAttr(default_factory=dict)
    _unused_sections: list[str] = PrivateAttr(default_factory=list)

    @property
    def deprecations(self) -> list[str]:
        """Warnings about deprecated keys this config used (still read, elsewhere)."""
        return self._deprecations

    @property
    def warnings(self) -> list[str]:
        """What ``warmline config check`` and the App warn about: deprecated keys, and
        sections of installed features that ``features:`` leaves out (not checked)."""
        return self._deprecations + [
            f"{key}: the section of a feature that features: leaves out; not checked"
            for key in self._unused_sections
        ]

    def section(self, name: str, model: type[SectionT]) -> SectionT:
        """The feature ``name``'s own config section (``Feature.config``); its defaults
        when the feature was not loaded with this config."""
        found = self._sections.get(name)
        if found is None:
            found = model()
        if not isinstance(found, model):
            raise TypeError(f"the {name!r} section is a {type(found).__name__}, not a {model}")
        return found

    @model_validator(mode="wrap")
    @classmethod
    def _feature_sections(
        cls, data: Any, handler: ModelWrapValidatorHandler[WarmlineConfig], info: ValidationInfo
    ) -> WarmlineConfig:
        """Installed features' top-level sections are theirs to validate."""
        if isinstance(data, WarmlineConfig):  # validated already, sections and all
            return handler(data)
        core, raw = split_sections(data, cls.model_fields)
        core, raw_platforms = split_platform_sections(core, BotConfig.model_fields)
        context = dict(info.context) if isinstance(info.context, dict) else {}
        errors = Errors()
        config: WarmlineConfig | None = None
        with errors.gather():
            config = handler(core)
        platform, chosen = (
            (config.bot.platform, config.features) if config is not None else as_given(core)
        )
        platforms: dict[str, BaseModel] = {}
        with errors.gather():
            platforms = validate_platform_sections(raw_platforms, platform, context)
            if config is not None:
                config._deprecations[:0] = merge_platform_aliases(config.http, platforms)
        if config is not None:  # a section checks itself against the core only when valid
            context[CORE_CONFIG] = config
        sections: tuple[dict[str, BaseModel], list[str]] = ({}, [])
        with errors.gather():
            sections = validate_sections(raw, chosen, cls.model_fields, context)
        errors.raise_any()
        assert config is not None  # raise_any raised otherwise
        config.bot._platform_sections = platforms
        config._sections, config._unused_sections = sections
        return config

    @model_serializer(mode="wrap")
    def _with_sections(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        """Dumped, the loaded features' sections sit beside the core's, as in the file,
        so that a dump validates back to the same config."""
        data: dict[str, Any] = handler(self)
        for name, section in self.bot._platform_sections.items():
            data["bot"][name] = section.model_dump(mode=info.mode, by_alias=info.by_alias)
        for name, section in self._sections.items():
            data[name] = section.model_dump(mode=info.mode, by_alias=info.by_alias)
        return data

    @field_validator("features")
    @classmethod
    def _known_features(cls, value: list[str] | None) -> list[str] | None:
        from bot.features import feature_names

        if value is None:
            return None
        known = feature_names()
        unknown = [name for name in value if name not in known]
        if unknown:
            raise ValueError(
                f"no feature {', '.join(map(repr, unknown))} (known: {', '.join(known)})"
            )
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _http_aliases(self) -> WarmlineConfig:
        """``bot.http.*`` are read as ``http.*`` (and platforms' own deprecated keys:
        :func:`bot.config.sections.merge_platform_aliases`)."""
        notes = []
        if self.bot.http is not None:
            for name in sorted(self.bot.http.model_fields_set):
                value = getattr(self.bot.http, name)
                notes.append(merge_alias(self.http, name, value, f"bot.http.{name}"))
        self._deprecations.extend(notes)  # after the platforms' (the wrap validator's)
        return self
