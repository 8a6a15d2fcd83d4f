"""The update inbox: platform updates stored before the platform is told "got it"."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base


class InboxUpdate(Base):
    """One raw update acknowledged to the platform but not yet handled.

    The row is written before the webhook's 200 (or the next polling offset) and
    deleted in the same transaction that records the key in ``processed_updates``,
    so a worker killed at any moment leaves it here for another worker to take
    once ``lease_until`` has passed.
    """

    __tablename__ = "update_inbox"
    __table_args__ = (Index("ix_update_inbox_lease_until", "lease_until"),)

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    raw: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    #: nobody handles the row before this moment (the worker holding it renews it)
    lease_until: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: platform calls started while handling it (JSON), so a second run skips them
    calls: Mapped[str | None] = mapped_column(Text, nullable=True)
