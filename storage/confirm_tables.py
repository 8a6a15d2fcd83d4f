"""Confirmation codes: "type /confirm K7Q2MX" where a platform shows an admin no buttons."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base


class ConfirmCode(Base):
    __tablename__ = "confirm_codes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: what confirming does, e.g. ``push:bc:ok:<campaign id>`` (a button's data)
    action: Mapped[str] = mapped_column(String(128))
    #: the admin (platform user id) the code was given to; nobody else may use it
    user_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    used: Mapped[bool] = mapped_column(Boolean, default=False)
