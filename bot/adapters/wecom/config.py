"""``bot.wecom``: what the WeCom adapter needs, checked before any network call.

Secrets may come from the environment (``WECOM_CORP_SECRET``,
``WECOM_ENCODING_AES_KEY``) so they stay out of the config file.
"""

from __future__ import annotations

import base64
import binascii
from datetime import time, timedelta

from pydantic import Field, field_validator

from bot.config.duration import Duration
from bot.config.section import Section

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"


class MassSendLimit(Section):
    """How many mass messages a customer may receive per rolling period."""

    count: int = Field(default=1, ge=1)
    period: Duration = timedelta(days=1)


class WeComConfig(Section):
    corp_id: str = ""
    secret: str = ""
    agent_id: int = 0
    token: str = ""
    encoding_aes_key: str = ""
    open_kfid: str = ""
    #: the staff userid mass sends go out as; default: each member's follow-user
    sender: str | None = None
    api_base: str = DEFAULT_API_BASE
    callback_path: str = "/wecom/callback"
    #: per-family secrets for tenants that keep customer contact / kf apart
    contact_secret: str | None = None
    kf_secret: str | None = None
    mass_send_limit: MassSendLimit = MassSendLimit()
    #: mirror tags set by flows, buttons and admins to WeCom corp tags (group ``Warmline``)
    sync_tags: bool = False
    #: how often kf is pulled even without a callback (a lost notice is picked up)
    kf_pull_interval: Duration = timedelta(seconds=30)
    #: proactive messages the kf window refuses join a daily mass-send task instead of
    #: waiting for the customer to write (within ``mass_send_limit``)
    batch_pushes: bool = False
    #: when that daily batch is made ("HH:MM", or "HH:MM:SS"; each customer's local time
    #: as content slots are, ``push.timezone`` when unknown); after
    #: ``flows.content.send_at``, so the day's content joins the same day's batch. Staff
    #: confirm it after
    batch_at: str = "20:00"

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://qyapi.weixin.qq.com")
        return value.rstrip("/")

    @field_validator("batch_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        try:
            clock_time(value)
        except ValueError:
            raise ValueError(f'must be "HH:MM" or "HH:MM:SS" (24 h clock), got {value!r}') from None
        return value.strip()

    @field_validator("callback_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with / (e.g. /wecom/callback)")
        return value

    def first_problem(self) -> tuple[str, str] | None:
        """(key under bot.wecom, what is wrong) for the first thing that stops a start."""
        for name in ("corp_id", "secret", "token", "encoding_aes_key", "open_kfid"):
            if not getattr(self, name):
                hint = ENV_HINTS.get(name, "")
                return name, f"required when bot.platform is wecom (WeCom admin console){hint}"
        if self.agent_id <= 0:
            return "agent_id", "required when bot.platform is wecom: the app's AgentId"
        problem = check_aes_key(self.encoding_aes_key)
        if problem:
            return "encoding_aes_key", problem
        return None


def clock_time(value: str) -> time:
    """ "HH:MM" or "HH:MM:SS" as a time of day (ValueError otherwise)."""
    parts = value.strip().split(":")
    if not 2 <= len(parts) <= 3 or not parts[0].isdigit() or len(parts[0]) > 2:
        raise ValueError(value)
    if any(len(p) != 2 or not p.isdigit() for p in parts[1:]):
        raise ValueError(value)
    hours, minutes, seconds = (int(p) for p in [*parts, "0"][:3])
    return time(hours, minutes, seconds)


ENV_HINTS = {
    "secret": "; or export WECOM_CORP_SECRET",
    "encoding_aes_key": "; or export WECOM_ENCODING_AES_KEY",
}


def check_aes_key(encoding_aes_key: str) -> str | None:
    """Why ``encoding_aes_key`` cannot be WeCom's 43-character key, or None."""
    if len(encoding_aes_key) != 43:
        return f"must be 43 characters (WeCom's EncodingAESKey), got {len(encoding_aes_key)}"
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        return "is not base64 (WeCom's EncodingAESKey uses A-Z, a-z, 0-9, + and /)"
    if len(key) != 32:
        return "does not decode to a 32-byte AES key"
    return None
