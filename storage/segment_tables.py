"""Saved segments: a name for a filter, so admins broadcast to ``vip`` instead of retyping it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base


class SavedSegment(Base):
    __tablename__ = "saved_segments"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: the canonical filter text (storage.segment_filter), read again at every use
    filter: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
