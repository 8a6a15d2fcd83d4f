"""What WeCom lets a bot do, as the adapter contract states it (no WeCom library
here, so the simulator can play by the same rules)."""

from __future__ import annotations

from datetime import timedelta

from bot.adapter import Capabilities, Limits, MessageWindow, Pacing

#: click menus only (kf msgmenu); no edits, deletes, files, moderation, first DMs
CAPABILITIES = Capabilities(buttons=True)
#: kf: at most 5 messages within 48 h after the customer's latest message
KF_WINDOW = MessageWindow(timedelta(hours=48), 5)
#: a kf menu click id carries up to 128 bytes; the API's frequency limits are
#: per minute, far above what members should get
LIMITS = Limits(
    button_data_bytes=128,
    pacing=Pacing(per_second=20.0, per_chat_per_second=1.0, per_group_per_minute=20),
    window=KF_WINDOW,
)
