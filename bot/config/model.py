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
    #: updates acknowledged and not yet handled; beyond it the webhook answers 429
    max_queued_updates: int = Field(default=1000, ge=1)

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
    #: how long an inbox row a dead worker held waits before another worker takes it
    inbox_lease: Duration = Field(default=timedelta(seconds=30), gt=timedelta(0))
    echo_sql: bool = False


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
