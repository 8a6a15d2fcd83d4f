"""``moderation:`` — group management (owned by the community feature)."""

from __future__ import annotations

from bot.config.section import Section


class ModerationConfig(Section):
    enabled: bool = True
