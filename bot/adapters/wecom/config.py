"""``bot.wecom``: what the WeCom adapter needs, checked before any network call.

Secrets may come from the environment (``WECOM_CORP_SECRET``,
``WECOM_ENCODING_AES_KEY``) so they stay out of the config file.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator, model_validator

from bot.adapters.wecom.crypto import check_aes_key
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
    #: proactive messages outside the kf window join a daily mass-send task
    batch_pushes: bool = False
    #: mirror tags set by flows and admins to WeCom corp tags
    sync_tags: bool = False
    mass_send_limit: MassSendLimit = MassSendLimit()
    #: how often kf is pulled even without a callback (a lost notice is picked up)
    kf_pull_interval: Duration = timedelta(seconds=30)

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://qyapi.weixin.qq.com")
        return value.rstrip("/")

    @field_validator("callback_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with / (e.g. /wecom/callback)")
        return value

    @model_validator(mode="after")
    def _complete(self) -> WeComConfig:
        missing = [
            name
            for name in ("corp_id", "secret", "token", "encoding_aes_key", "open_kfid")
            if not getattr(self, name)
        ]
        if missing:
            raise ValueError(
                f"bot.wecom needs {', '.join(missing)} (from the WeCom admin console; "
                "secret and encoding_aes_key may come from WECOM_CORP_SECRET and "
                "WECOM_ENCODING_AES_KEY)"
            )
        if self.agent_id <= 0:
            raise ValueError("bot.wecom.agent_id: the app's AgentId (a positive number)")
        problem = check_aes_key(self.encoding_aes_key)
        if problem:
            raise ValueError(f"bot.wecom.encoding_aes_key {problem}")
        return self
