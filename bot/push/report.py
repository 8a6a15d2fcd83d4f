"""Campaign progress and summaries in an admin's chat, edited as the fan-out goes."""

from __future__ import annotations

from collections import Counter

from bot.events import ChatRef, OutgoingMessage
from bot.push.campaigns import Progress, Tally
from bot.services import Services


def describe(services: Services, lang: str | None, tally: Tally) -> str:
    """``sent 12 · deferred 3 (quiet hours 3) · dropped 1 (opted out 1)``."""
    by_state: dict[str, Counter[str | None]] = {}
    for (state, reason), count in tally.items():
        by_state.setdefault(state, Counter())[reason] += count
    parts = []
    for state in ("sent", "waiting", "deferred", "dropped", "pending"):
        reasons = by_state.get(state)
        if not reasons:
            continue
        detail = ", ".join(
            f"{services.catalog.t(lang, f'push.reason.{reason}')} {count}"
            for reason, count in sorted(reasons.items(), key=lambda item: -item[1])
            if reason
        )
        line = services.catalog.t(lang, f"push.state.{state}", count=sum(reasons.values()))
        parts.append(f"{line} ({detail})" if detail else line)
    return " · ".join(parts) or services.catalog.t(lang, "push.state.none")


class ChatProgress:
    """First call sends a progress message, later calls edit it, the last sends a summary."""

    def __init__(self, services: Services, chat: ChatRef, lang: str | None) -> None:
        self._services = services
        self._chat = chat
        self._lang = lang
        self._message_id: str | None = None
        self._last = ""

    def _t(self, key: str, **values: object) -> str:
        return self._services.catalog.t(self._lang, key, **values)

    async def __call__(self, progress: Progress) -> None:
        adapter = self._services.adapter
        text = self._t(
            "push.broadcast.progress",
            id=progress.campaign_id,
            done=progress.done,
            total=progress.total,
            tally=describe(self._services, self._lang, progress.tally),
        )
        if text != self._last and adapter.capabilities.edit:
            # a platform that cannot edit gets the summary alone, not a message per report
            self._last = text
            if self._message_id is None:
                sent = await adapter.send(OutgoingMessage(self._chat, text))
                self._message_id = sent.message_id
            else:
                await adapter.edit(self._chat, self._message_id, OutgoingMessage(self._chat, text))
        if progress.finished:
            summary = self._t(
                "push.broadcast.summary",
                id=progress.campaign_id,
                total=progress.total,
                count=progress.total,
                tally=describe(self._services, self._lang, progress.tally),
            )
            await adapter.send(OutgoingMessage(self._chat, summary))
