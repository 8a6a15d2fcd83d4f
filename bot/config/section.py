"""Base of every config section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")
