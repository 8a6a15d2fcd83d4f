"""Platform message windows: a member who writes opens one (``limits.window``).

Some platforms let a bot write to a person only for a while after that person
last wrote (WeCom kf: 5 messages within 48 h). The core notes every member
message in the shared :class:`~storage.windows.WindowLedger` so the push gate
can defer what the platform would refuse, whatever the platform.
"""

from __future__ import annotations

from bot.adapter import opens_window
from bot.context import Context
from bot.dispatcher import Next
from bot.events import ButtonPressed, IncomingMessage
from storage.windows import WindowLedger


class OpenWindows:
    """Middleware: a member's own message (or press) in their DM opens their window."""

    async def __call__(self, call_next: Next, ctx: Context) -> None:
        event = ctx.event
        if isinstance(event, IncomingMessage | ButtonPressed) and opens_window(
            ctx.services.adapter.inner, event
        ):
            ledger = ctx.services.find(WindowLedger)
            if ledger is not None:
                by = event.update_key or f"{event.chat.id}:{event.at.timestamp()}"
                await ledger.opened(event.platform, event.chat.id, event.at, by)
        await call_next(ctx)
