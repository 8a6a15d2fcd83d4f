"""Campaign progress and summaries in an admin's chat, edited as the fan-out goes.

Deferred members are told with when they come due, in the shop's timezone: "deferred
40 (minimum gap 40)" alone does not say whether they hear from us in an hour or
tomorrow."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.events import ChatRef, OutgoingMessage
from bot.services import Services
from push.campaigns import Campaigns, Progress, Tally
from push.config import push_config
from push.preview import Key, Span


def describe(
    services: Services, lang: str | None, tally: Tally, due: Mapping[Key, Span] | None = None
) -> str:
    """``sent 12 · deferred 3 (quiet hours 3, until Jan 06, 08:00) · dropped 1 (opted
    out 1)``; ``due``: (state, reason) → the earliest and latest time they come due."""
    by_state: dict[str, Counter[str | None]] = {}
    for (state, reason), count in tally.items():
        by_state.setdefault(state, Counter())[reason] += count
    parts = []
    for state in ("sent", "waiting", "deferred", "dropped", "pending"):
        reasons = by_state.get(state)
        if not reasons:
            continue
        detail = ", ".join(
            _reason(services, lang, reason, count, (due or {}).get((state, reason)))
            for reason, count in sorted(reasons.items(), key=lambda item: -item[1])
            if reason
        )
        line = services.catalog.t(lang, f"push.state.{state}", count=sum(reasons.values()))
        parts.append(f"{line} ({detail})" if detail else line)
    return " · ".join(parts) or services.catalog.t(lang, "push.state.none")


def _reason(
    services: Services, lang: str | None, reason: str, count: int, span: Span | None
) -> str:
    t = services.catalog.t
    text = f"{t(lang, f'push.reason.{reason}')} {count}"
    if span is None:
        return text
    zone = ZoneInfo(push_config(services.config).timezone)
    first, last = (at.astimezone(zone) for at in span)
    if first == last:
        due = t(lang, "push.due.at", at=_time(services, lang, first))
    else:
        shown = "push.due.clock" if first.date() == last.date() else "push.due.time"
        due = t(
            lang,
            "push.due.span",
            first=_time(services, lang, first),
            last=last.strftime(t(lang, shown)),
        )
    return t(lang, "push.due.detail", reason=text, due=due)


def _time(services: Services, lang: str | None, at: datetime) -> str:
    return at.strftime(services.catalog.t(lang, "push.due.time"))


async def waiting_until(services: Services, campaign_id: str) -> dict[Key, Span]:
    """When a campaign's deferred members come due, per (state, reason)."""
    campaigns = services.find(Campaigns)
    if campaigns is None:
        return {}
    spans = await campaigns.store.waiting_until(campaign_id)
    return {("deferred", reason): span for reason, span in spans.items()}


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
        due: dict[Key, Span] = {}
        if any(state == "deferred" for state, _ in progress.tally):
            due = await waiting_until(self._services, progress.campaign_id)
        tally = describe(self._services, self._lang, progress.tally, due)
        text = self._t(
            "push.broadcast.progress",
            id=progress.campaign_id,
            done=progress.done,
            total=progress.total,
            tally=tally,
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
                tally=tally,
            )
            await adapter.send(OutgoingMessage(self._chat, summary))
