"""Telegram as a platform: its section ``bot.telegram`` (what the aiogram and
python-telegram-bot adapters need, checked before any network call), the token from the
environment (``TELEGRAM_BOT_TOKEN``), and its registration. Cheap to import: no Telegram
library (the registry imports it whenever a config is loaded)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field

from bot.config.checks import ListenAddress
from bot.config.duration import Duration
from bot.config.section import Section
from bot.extras import missing
from bot.platforms import Platform

if TYPE_CHECKING:
    from bot.config.model import WarmlineConfig


#: what Telegram accepts as a webhook secret_token (Bot API, setWebhook)
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def bot_id_of_token(token: str) -> str:
    """The numeric bot id that starts every token from @BotFather."""
    bot_id, sep, secret = token.partition(":")
    if not bot_id.isdigit() or not sep or not secret or any(c.isspace() for c in token):
        raise ValueError("must look like 123456789:AA… (from @BotFather)")
    return bot_id


def check_secret_token(value: str | None) -> str | None:
    if value is not None and not _SECRET_TOKEN.match(value):
        raise ValueError(
            "Telegram accepts 1-256 characters of A-Z a-z 0-9 _ - only "
            f"(got {len(value)} characters{_first_bad(value)})"
        )
    return value


def _first_bad(value: str) -> str:
    bad = next((c for c in value if not re.match(r"[A-Za-z0-9_-]", c)), None)
    return f", including {bad!r}" if bad is not None else ""


WebhookSecret = Annotated[str | None, AfterValidator(check_secret_token)]


class WebhookConfig(Section):
    #: deprecated: read as ``http.listen``
    listen: ListenAddress | None = None
    path: str = "/telegram/webhook"
    secret_token: WebhookSecret = None
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


def telegram_config(config: WarmlineConfig) -> TelegramConfig:
    """``bot.telegram`` of ``config`` (its defaults when the file has none)."""
    return config.bot.platform_section("telegram", TelegramConfig) or TelegramConfig()


#: bot.telegram.library → the module it imports, what it is called in an error, and the
#: pip extra that installs it
TELEGRAM_LIBRARIES = {
    "aiogram": ("aiogram", "Telegram through aiogram", "aiogram"),
    "ptb": ("telegram", "Telegram through python-telegram-bot", "ptb"),
}


def start_problem(section: TelegramConfig | None) -> tuple[str, str] | None:
    """What the Telegram adapters need before any network call (keys below ``bot``)."""
    section = section or TelegramConfig()
    token = section.token
    if not token:
        return (
            "telegram.token",
            "required when bot.platform is telegram; put the token from @BotFather "
            "under bot.telegram.token or export TELEGRAM_BOT_TOKEN",
        )
    try:
        bot_id_of_token(token)
    except ValueError as exc:
        return "telegram.token", str(exc)
    module, what, extra = TELEGRAM_LIBRARIES[section.library]
    problem = missing(module, what, extra)
    if problem is not None:
        return "telegram.library", problem
    if section.mode == "webhook" and not section.webhook.secret_token:
        return (
            "telegram.webhook.secret_token",
            "required in webhook mode, so that requests not sent by Telegram are rejected "
            "(any 1-256 of A-Z a-z 0-9 _ -)",
        )
    return None


def summary(section: TelegramConfig | None) -> str:
    """What ``warmline config check`` says of it."""
    section = section or TelegramConfig()
    return f"library={section.library} mode={section.mode}"


PLATFORM = Platform(
    "telegram",
    "bot.adapters.telegram_base:build",
    config=TelegramConfig,
    start_problem=start_problem,
    env={"TELEGRAM_BOT_TOKEN": "token"},
    summary=summary,
    http_aliases={"webhook.listen": "listen"},
)
