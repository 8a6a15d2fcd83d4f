"""Platform message windows and small adapter state, shared by every worker.

Some platforms only let a bot write to a person for a while after that person
last wrote (WeCom kf: 5 messages within 48 h). ``dm_windows`` keeps, per
conversation, when the window opened and how much of it is used; the
``adapter_state`` table keeps an adapter's cursors (kf's ``sync_msg`` cursor) and
other small records (a WeCom customer's follow-user, a mass send's tasks).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base


class DmWindow(Base):
    __tablename__ = "dm_windows"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    #: when the person last wrote (the platform's time of their message)
    opened_at: Mapped[datetime]
    #: the platform's id of that message (two messages in one second both count)
    opened_by: Mapped[str] = mapped_column(String(128), default="")
    #: messages sent to them since
    used: Mapped[int] = mapped_column(Integer, default=0)


class AdapterState(Base):
    __tablename__ = "adapter_state"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    #: any length: a WeCom mass send keeps its tasks (msgid, sender, recipients) here
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
