"""``moderation:`` — group management: the moderation feature's own config section,
registered through ``Feature.config`` (the core does not know it).

Every protection is off until configured (``config.example.yaml`` shows the
recommended settings), so adding the bot to a group changes nothing by surprise.

Every group uses the top-level policy; ``moderation.groups.<chat id>`` overrides
any part of it for one group (deep-merged, then validated like the base), so a
typo in an override fails at start-up just like one in the base.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from bot.config.duration import Duration
from bot.config.section import Section


class WelcomePolicy(Section):
    enabled: bool = False
    #: welcome messages are deleted after this long (0 keeps them)
    delete_after: Duration = timedelta(minutes=10)


class CaptchaPolicy(Section):
    mode: Literal["off", "button", "question"] = "off"
    #: unsolved after this long → the newcomer is removed (join request declined)
    timeout: Duration = timedelta(minutes=5)
    #: wrong answers allowed in question mode before removal
    attempts: int = Field(default=3, ge=1, le=10)
    #: answer ``chat_join_request`` with a captcha in DM and approve on success
    join_requests: bool = True


class FloodPolicy(Section):
    #: more than ``messages`` in ``window`` → muted for ``mute_for`` (0 messages: off)
    messages: int = Field(default=0, ge=0)
    window: Duration = timedelta(seconds=10)
    mute_for: Duration = timedelta(minutes=10)


class LockPolicy(Section):
    links: bool = False
    channel_forwards: bool = False
    #: words or phrases (case-insensitive) whose messages are deleted
    blocklist: list[str] = Field(default_factory=list)


class NewcomerPolicy(Section):
    """Stricter locks for members who joined less than ``period`` ago."""

    period: Duration = timedelta(hours=24)
    links: bool = False
    channel_forwards: bool = False


class WarningPolicy(Section):
    expire_after: Duration = timedelta(days=30)
    #: active warnings that mute the member (0: never)
    mute_at: int = Field(default=3, ge=0)
    mute_for: Duration = timedelta(days=1)
    #: active warnings that ban the member (0: never)
    ban_at: int = Field(default=5, ge=0)


class GroupPolicy(Section):
    """Everything that may differ from one group to the next."""

    rules: str = ""
    welcome: WelcomePolicy = WelcomePolicy()
    captcha: CaptchaPolicy = CaptchaPolicy()
    flood: FloodPolicy = FloodPolicy()
    locks: LockPolicy = LockPolicy()
    newcomer: NewcomerPolicy = NewcomerPolicy()
    warnings: WarningPolicy = WarningPolicy()


class ModerationConfig(GroupPolicy):
    #: false: no automatic guard (welcome, captcha, flood, locks); commands still work
    enabled: bool = True
    #: chat id that receives a copy of every moderation action (null: audit table only)
    log_chat: str | None = None
    #: how long a group's administrator list is trusted before asking the platform again
    admin_cache: Duration = timedelta(minutes=5)
    #: per-group overrides keyed by chat id; any key of the policy above
    groups: dict[str, dict[str, Any]] = Field(default_factory=dict)

    _resolved: dict[str, GroupPolicy] = PrivateAttr(default_factory=dict)

    @field_validator("log_chat", mode="before")
    @classmethod
    def _chat_id_as_string(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @field_validator("groups", mode="before")
    @classmethod
    def _keys_as_strings(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(key): item for key, item in value.items()}
        return value

    @model_validator(mode="after")
    def _resolve_overrides(self) -> ModerationConfig:
        base = self.model_dump(include=set(GroupPolicy.model_fields))
        for chat_id, override in self.groups.items():
            try:
                self._resolved[chat_id] = GroupPolicy.model_validate(_merge(base, override))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                raise ValueError(f"groups.{chat_id}.{where}: {first['msg']}") from None
        return self

    def for_chat(self, chat_id: str) -> GroupPolicy:
        """The policy of one group: its override if any, else the base."""
        return self._resolved.get(chat_id, self)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
