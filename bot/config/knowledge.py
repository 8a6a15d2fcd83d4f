"""``knowledge:`` — the knowledge base behind Q&A (owned by the knowledge feature)."""

from __future__ import annotations

from pydantic import Field

from bot.config.section import Section


class KnowledgeConfig(Section):
    sources: list[str] = Field(default_factory=list)
    min_confidence: float = Field(default=0.5, ge=0, le=1)
    group_min_confidence: float = Field(default=0.85, ge=0, le=1)
