"""How the journey hears about members without owning their handlers.

``InteractionTee`` wraps the interaction log: ``/start`` and answered questions
are recorded there by their own handlers, and the tee starts the matching
flows. ``SignalCounter`` is a middleware that counts DM messages and replies
after the router ran.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot.context import Context
from bot.dispatcher import Next
from bot.events import IncomingMessage
from bot.services import Services
from flows.engine import FlowEngine
from storage.members import InteractionLog
from storage.records import MemberRecord

log = logging.getLogger("warmline.flows")


class InteractionTee:
    def __init__(self, inner: InteractionLog, engine: FlowEngine, services: Services) -> None:
        self._inner = inner
        self._engine = engine
        self._services = services

    async def record(
        self,
        member_id: int | None,
        kind: str,
        at: datetime,
        chat_id: str | None = None,
        detail: dict[str, Any] | None = None,
        *,
        member: MemberRecord | None = None,
    ) -> None:
        await self._inner.record(member_id, kind, at, chat_id, detail, member=member)
        if member_id is None or kind not in {"start", "question_answered"}:
            return
        try:
            if member is None or member.id != member_id:
                member = await self._services.members.get_by_id(member_id)
            if member is None:
                return
            now = self._services.clock.now()
            if kind == "start":
                await self._engine.on_start(member, now)
            else:
                await self._engine.on_question(member, now)
        except Exception:  # the member's own handler must not fail because of a flow
            log.exception("flow trigger %s failed for member %s", kind, member_id)


class SignalCounter:
    """Counts what members say in DMs (a trust signal); commands are not chatter."""

    def __init__(self, engine: FlowEngine) -> None:
        self._engine = engine

    async def __call__(self, call_next: Next, ctx: Context) -> None:
        await call_next(ctx)
        event = ctx.event
        if (
            ctx.member is None
            or not isinstance(event, IncomingMessage)
            or not ctx.chat.is_private
            or event.command is not None
            or ctx.data.get("duplicate")
        ):
            return
        now = ctx.services.clock.now()
        counts = {(ctx.member.id, "messages"): 1}
        if event.reply_to is not None:
            counts[(ctx.member.id, "replies")] = 1
        try:
            await self._engine.journeys.bump(counts, now)
        except Exception:
            log.exception("could not count a message of member %s", ctx.member.id)
