"""The configuration schema. Key paths here are a public contract."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator

from bot.config.duration import Duration
from bot.config.flows import FlowsConfig
from bot.config.insight import InsightConfig
from bot.config.knowledge import KnowledgeConfig
from bot.config.moderation import ModerationConfig
from bot.config.push import PushConfig
from bot.config.section import Section


class WebhookConfig(Section):
    listen: str = "127.0.0.1:8080"
    path: str = "/telegram/webhook"
    secret_token: str | None = None
    public_url: str | None = Field(
        default=None, description="URL Telegram posts to; setWebhook is called when set."
    )


class HttpConfig(Section):
    """The shared HTTP server's limits (webhooks, order hooks, dashboard, health)."""

    #: a request's head must arrive within this of its first byte
    header_timeout: Duration = timedelta(seconds=10)
    #: and its body within this
    body_timeout: Duration = timedelta(seconds=30)
    #: an idle kept-alive connection is closed after this
    idle_timeout: Duration = timedelta(seconds=15)
    #: open connections at most (kept below the open-file limit); at the cap the
    #: oldest connection still waiting for a request head is closed
    max_connections: int = Field(default=512, ge=16, le=100_000)

    @field_validator("header_timeout", "body_timeout", "idle_timeout")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be positive (e.g. 10s)")
        return value


class TelegramConfig(Section):
    token: str | None = None
    library: Literal["aiogram", "ptb"] = "aiogram"
    api_base: str = "https://api.telegram.org"
    mode: Literal["polling", "webhook"] = "polling"
    webhook: WebhookConfig = WebhookConfig()
    poll_timeout: Duration = timedelta(seconds=30)
    max_retries: int = Field(default=5, ge=0)


class LocalConfig(Section):
    bot_username: str = "warmline_bot"
    demo_group: str = "Camellia Tea Club"


class BotConfig(Section):
    platform: Literal["local", "telegram"] = "local"
    admins: list[str] = Field(default_factory=list)
    default_language: Literal["en", "zh"] = "en"
    callback_secret: str | None = None
    telegram: TelegramConfig = TelegramConfig()
    local: LocalConfig = LocalConfig()
    max_concurrent_updates: int = Field(default=64, ge=1)
    http: HttpConfig = HttpConfig()

    @field_validator("admins", mode="before")
    @classmethod
    def _ids_as_strings(cls, value: object) -> object:
        if isinstance(value, list):
            return [str(item) for item in value]
        return value


class StorageConfig(Section):
    database_url: str = "sqlite+aiosqlite:///warmline.db"
    redis_url: str | None = None
    dedupe_ttl: Duration = timedelta(days=2)
    echo_sql: bool = False
    #: PostgreSQL connections each worker keeps open, and may open beyond them at
    #: peaks; workers x (pool_size + max_overflow + 4 for the scheduler) must stay
    #: below the server's max_connections (README "Running several workers")
    pool_size: int = Field(default=5, ge=1, le=500)
    max_overflow: int = Field(default=5, ge=0, le=500)
    #: a query waits this long for a free connection before it fails
    pool_timeout: Duration = timedelta(seconds=30)


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = Field(default=False, alias="json")


class WarmlineConfig(Section):
    bot: BotConfig = BotConfig()
    storage: StorageConfig = StorageConfig()
    logging: LoggingConfig = LoggingConfig()
    push: PushConfig = PushConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()
    flows: FlowsConfig = FlowsConfig()
    moderation: ModerationConfig = ModerationConfig()
    insight: InsightConfig = InsightConfig()
