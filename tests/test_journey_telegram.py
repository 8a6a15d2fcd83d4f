"""The member journey on Telegram, with aiogram and with python-telegram-bot.

The App is built as ``warmline run`` builds it (the config file loaded by
``load_config``, every feature installed) on a virtual clock, and talks to the
fake Bot API: /start from a deep link, value content through the push gate
over simulated days, a soft offer once eligible, "not now", an admin's /order
with its thank-you and day-2 care note, and /points.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import fake_bot_api
import telegram_support
from fake_bot_api import Call, FakeBotAPI, Json
from flows_support import advance, tomorrow_10_shanghai
from telegram_support import (
    TelegramBot,
    keyboard,
    sent_messages,
    telegram_bot,
    telegram_settings,
    texts,
)

from bot.clock import ManualClock
from bot.config import load_config
from flows.engine import FlowEngine
from push.gate import Gate

fake_api = fake_bot_api.fake_api
library = telegram_support.library
#: fixtures: journey_url (a copy of a database migrated once per session)
pytest_plugins = ("flows_fixtures",)

UPDATES = FakeBotAPI().updates
ADMIN = UPDATES.user(1, "Boss")
ALICE = UPDATES.user(42, "Alice", username="alice")

VALUE = "jy:value_content:deliver:"
OFFER = "jy:soft_offer:offer:"
FLOWS = {
    "tick": 0,  # the test moves time and ticks the engine itself
    "offer": {"min_trust": 0, "min_days": 3, "value_per_offer": 2, "cooldown": "2d"},
    "content": {"cadence": "1d"},
    "products": {"green": {"name": "Green tea"}},
}
PUSH = {
    "scheduler": {"enabled": False},  # the test drains the gate's waiting line itself
    # virtual days pass in real milliseconds: Telegram's one message per chat per second
    # would only make the test wait
    "pacing": {"per_second": 200, "per_chat_per_second": 100},
}


@dataclass
class Stamped:
    """A message the fake API received, with the virtual time it was seen at."""

    at: datetime
    call: Call

    @property
    def text(self) -> str:
        return str(self.call.params["text"])

    @property
    def chat(self) -> int:
        return int(self.call.params["chat_id"])


@dataclass
class TelegramJourney:
    """The bot on a virtual clock; every message it sends, stamped with virtual time."""

    bot: TelegramBot
    clock: ManualClock
    sent: list[Stamped] = field(default_factory=list)

    async def send(self, update: Json) -> list[Stamped]:
        return self._stamp(await self.bot.send(update))

    async def advance(self, delta: timedelta, step: timedelta = timedelta(hours=4)) -> None:
        """Let virtual time pass, stamping what is sent at each step."""
        end = self.clock.now() + delta
        while self.clock.now() < end:
            before = len(self.bot.api.calls)
            await advance(self.bot.app, self.clock, min(step, end - self.clock.now()), step)
            self._stamp(sent_messages(self.bot.api.calls[before:]))

    def _stamp(self, calls: list[Call]) -> list[Stamped]:
        stamped = [Stamped(self.clock.now(), call) for call in calls]
        self.sent += stamped
        return stamped

    def to(self, user: Json, prefix: str | None = None) -> list[Stamped]:
        return [
            s
            for s in self.sent
            if s.chat == user["id"]
            and (prefix is None or any(d.startswith(prefix) for d in keyboard(s.call)))
        ]


@asynccontextmanager
async def journey(
    api: FakeBotAPI, library: str, db_url: str, tmp_path: Path
) -> AsyncIterator[TelegramJourney]:
    settings = telegram_settings(api, library, db_url, [str(ADMIN["id"])], flows=FLOWS, push=PUSH)
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(settings), encoding="utf-8")  # JSON is YAML
    clock = ManualClock(tomorrow_10_shanghai())
    async with telegram_bot(api, load_config(path, env={}), clock) as bot:
        yield TelegramJourney(bot, clock)


async def test_journey_from_deep_link_to_after_sales(
    fake_api: FakeBotAPI, library: str, journey_url: str, tmp_path: Path
) -> None:
    async with journey(fake_api, library, journey_url, tmp_path) as j:
        services = j.bot.app.services
        engine = services.require(FlowEngine)
        joined = j.clock.now()
        [greeting] = await j.send(UPDATES.command(ALICE, "start", "src-flyer"))
        assert greeting.chat == ALICE["id"] and "Alice" in greeting.text
        alice = await services.members.get("telegram", str(ALICE["id"]))
        assert alice is not None and alice.source == "flyer" and alice.started_bot

        # value first: content over the days, an offer only once eligible
        while not j.to(ALICE, OFFER):
            assert j.clock.now() - joined < timedelta(days=10), "no offer ever came"
            await j.advance(timedelta(hours=12))
        [offer] = j.to(ALICE, OFFER)
        values = j.to(ALICE, VALUE)
        assert offer.at - joined >= timedelta(days=3)
        assert len([v for v in values if v.at < offer.at]) >= 2
        gate = services.require(Gate)
        await gate.flush_decisions()
        decided = await gate.decisions.recent(100, member_id=alice.id)
        sent_values = [d for d in decided if d.category == "value" and d.outcome == "sent"]
        assert len(sent_values) == len(values)  # every value message passed the gate

        # "not now" is honoured: a kind answer, the cooldown doubled, once only
        not_now = next(d for d in keyboard(offer.call) if ":not_now:" in d)
        assert "|" in not_now  # signed
        answer = await j.send(UPDATES.callback(ALICE, not_now))
        assert any("No problem" in s.text for s in answer)
        state = await engine.journeys.get(alice.id)
        assert state is not None and state.declines == 1
        assert state.offer_cooldown_s == 4 * 86400
        assert await j.send(UPDATES.callback(ALICE, not_now)) == []
        state = await engine.journeys.get(alice.id)
        assert state is not None and state.declines == 1

        # an admin records an order: thank-you at once, care tips on day 2
        ordered_at = j.clock.now()
        reply = await j.send(UPDATES.command(ADMIN, "order", "@alice green 39.90"))
        [confirmation] = [s.text for s in reply if s.chat == ADMIN["id"]]
        assert "Order #1" in confirmation
        thanks = [
            s for s in reply if s.chat == ALICE["id"] and "Thank you for your order" in s.text
        ]
        assert len(thanks) == 1 and "Green tea" in thanks[0].text
        await j.advance(timedelta(days=3), step=timedelta(hours=3))
        care = [s for s in j.to(ALICE) if "care note" in s.text]
        assert len(care) == 1
        assert timedelta(days=2) <= care[0].at - ordered_at < timedelta(days=3)  # quiet hours

        [points] = texts([s.call for s in await j.send(UPDATES.command(ALICE, "points"))])
        assert points == services.catalog.t("en", "journey.points", count=0)
