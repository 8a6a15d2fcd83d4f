"""A platform with no capabilities at all runs the member journey.

The toy adapter below is the smallest one the contract allows: text in, text
out, no buttons, no edits, no moderation, and a DM that is *not* addressed by
the member's id. The real App runs on it: greeting with source attribution,
Q&A with a cited answer, the referral link in the platform's own form, value
content over the following days; moderation commands get a clear refusal and
the platform is asked nothing it cannot do (the toy has no such methods, and
refuses buttons, so any attempt would fail the test).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flows_support import advance, tomorrow_10_shanghai
from harness import make_config
from knowledge_support import knowledge_section

from bot.adapter import Capabilities, Limits, UpdateSink
from bot.app import App
from bot.clock import ManualClock
from bot.commands import parse_command
from bot.errors import DeliveryError
from bot.events import (
    ChatKind,
    ChatRef,
    IncomingMessage,
    OutgoingMessage,
    SentMessage,
    UserRef,
)
from knowledge.service import KnowledgeBase

PLATFORM = "toy"


class ToyAdapter:
    """Text only; a DM's id is the platform's own (``dm:<user>``), never the user's."""

    platform = PLATFORM
    capabilities = Capabilities()
    limits = Limits()

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []
        self._sink: UpdateSink | None = None
        self._ids = itertools.count(1)

    async def start(self, sink: UpdateSink) -> None:
        self._sink = sink

    async def stop(self) -> None:
        self._sink = None

    async def send(self, message: OutgoingMessage) -> SentMessage:
        if message.buttons:
            raise DeliveryError("the toy platform has no buttons")
        self.sent.append(message)
        return SentMessage(message.chat, str(next(self._ids)))

    async def me(self) -> UserRef:
        return UserRef(PLATFORM, "bot", "Toy", username="toy_bot", is_bot=True)

    def dm(self, user: UserRef) -> ChatRef:
        return ChatRef(PLATFORM, f"dm:{user.id}", ChatKind.PRIVATE)

    async def deep_link(self, payload: str) -> str | None:
        return f"toy://add?state={payload}"

    # -- the platform's side ---------------------------------------------------
    async def write(self, user: UserRef, text: str, chat: ChatRef | None = None) -> None:
        assert self._sink is not None
        number = next(self._ids)
        await self._sink(
            IncomingMessage(
                update_key=f"toy:{number}",
                chat=chat or self.dm(user),
                user=user,
                at=datetime.now(UTC),
                message_id=str(number),
                text=text,
                command=parse_command(text, "toy_bot"),
            )
        )

    def to(self, chat: ChatRef) -> list[str]:
        return [m.text for m in self.sent if m.chat == chat]


@asynccontextmanager
async def toy_app(url: str, index_dir: Path) -> AsyncIterator[tuple[App, ToyAdapter, ManualClock]]:
    config = make_config(
        url,
        knowledge=knowledge_section(index_dir),
        flows={"tick": 0},
        push={"scheduler": {"enabled": False}},
        moderation={"locks": {"links": True}},
    )
    toy = ToyAdapter()
    clock = ManualClock(tomorrow_10_shanghai())
    app = App(config, adapter=toy, clock=clock)
    await app.start()
    try:
        yield app, toy, clock
    finally:
        await app.stop()


async def say(app: App, toy: ToyAdapter, user: UserRef, text: str, chat: ChatRef | None = None):  # type: ignore[no-untyped-def]
    before = len(toy.sent)
    await toy.write(user, text, chat)
    await app.runner.wait_idle()
    return toy.sent[before:]


async def test_member_journey_on_a_platform_without_capabilities(
    sqlite_url: str, camellia_index_dir: Path, camellia: KnowledgeBase
) -> None:
    ann = UserRef(PLATFORM, "ann", "Ann", language_code="en")
    dm = ChatRef(PLATFORM, "dm:ann", ChatKind.PRIVATE)
    async with toy_app(sqlite_url, camellia_index_dir) as (app, toy, clock):
        [greeting] = await say(app, toy, ann, "/start src-xiaohongshu")
        assert greeting.chat == dm and "Ann" in greeting.text
        member = await app.services.members.get(PLATFORM, "ann")
        assert member is not None and member.source == "xiaohongshu" and member.started_bot

        [answer] = await say(app, toy, ann, "What's the minimum order for free shipping?")
        assert answer.chat == dm and answer.text.endswith("Source: faq.yaml#free-shipping")

        [invite] = await say(app, toy, ann, "/invite")
        assert invite.chat == dm and "toy://add?state=ref-" in invite.text

        before = len(toy.to(dm))
        await advance(app, clock, timedelta(days=4), step=timedelta(hours=4))
        later = toy.to(dm)[before:]
        assert later, "value content keeps coming without buttons"
        assert all(m.chat.id.startswith("dm:") for m in toy.sent)  # never a bare user id


async def test_moderation_commands_are_refused_clearly_and_call_nothing(
    sqlite_url: str, camellia_index_dir: Path
) -> None:
    admin = UserRef(PLATFORM, "admin", "Ada")
    spammer = UserRef(PLATFORM, "sam", "Sam")
    group = ChatRef(PLATFORM, "group:tea", ChatKind.GROUP, "Tea Club")
    async with toy_app(sqlite_url, camellia_index_dir) as (app, toy, _clock):
        await say(app, toy, spammer, "hello", group)
        for command in ("/mute @sam 1h", "/ban @sam", "/warn @sam", "/kick @sam"):
            [refusal] = await say(app, toy, admin, command, group)
            name = command.split()[0][1:]
            assert refusal.chat == group
            assert refusal.text == app.services.catalog.t(
                "en", "moderation.unsupported", command=name
            )
        # the link lock cannot delete anything here: the message is simply handled
        sent = await say(app, toy, spammer, "cheap tea at https://spam.example", group)
        assert all("deleted" not in m.text.lower() for m in sent)
        zh = app.services.catalog.t("zh", "moderation.unsupported", command="ban")
        assert "/ban" in zh and zh != app.services.catalog.t(
            "en", "moderation.unsupported", command="ban"
        )
