"""One adapter contract, every adapter: local, aiogram, PTB and WeCom (the others
against the fake Bot API and the fake WeCom server), like the storage contract tests.

Each adapter is driven on its own (no App): it is started with a sink, a member
writes to it, it sends back to the conversation ``dm(user)`` names, and it keeps
the promises its ``capabilities`` and ``limits`` make. A 429 comes back as
``RateLimited`` at once (the core owns the wait).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

import fake_bot_api
import pytest
from fake_bot_api import TOKEN, FakeBotAPI

from bot.adapter import (
    DATA_BUDGET,
    REQUIRES,
    SIGNATURE_BYTES,
    Adapter,
    Capabilities,
    Editor,
    able,
)
from bot.adapters.local import LocalAdapter
from bot.adapters.telegram_platform import TelegramConfig
from bot.errors import RateLimited
from bot.events import Button, Event, IncomingMessage, OutgoingMessage, UserRef
from bot.schema import with_feature_tables
from bot.web import WebServer
from storage.database import Database

fake_api = fake_bot_api.fake_api
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@dataclass
class Subject:
    """An adapter under test and how to play its platform's side."""

    adapter: Adapter
    #: a member writes ``text`` to the bot in their DM (as the platform delivers it)
    write: Callable[[str], Awaitable[None]]
    #: the texts the platform received, oldest first
    received: Callable[[], list[str]]
    #: the next send is answered 429 with retry_after (None: the platform has no limits)
    fail_429: Callable[[int], None] | None


def _local() -> Subject:
    adapter = LocalAdapter("contract_bot")
    user = UserRef("local", "ann", "Ann")

    async def write(text: str) -> None:
        await adapter.deliver(adapter.message(user, adapter.dm(user), text))

    def received() -> list[str]:
        return [a.message.text for a in adapter.log if a.kind == "send" and a.message]

    return Subject(adapter, write, received, None)


def _telegram(api: FakeBotAPI, library: str) -> Subject:
    from bot.adapters.aiogram_adapter import AiogramAdapter
    from bot.adapters.ptb_adapter import PtbAdapter

    config = TelegramConfig(token=TOKEN, library=library, api_base=api.url, poll_timeout="1s")
    kind = AiogramAdapter if library == "aiogram" else PtbAdapter
    adapter = kind(config, None)
    user = api.updates.user(42, "Ann")

    async def write(text: str) -> None:
        api.push(api.updates.message(user, text))

    def fail_429(seconds: int) -> None:
        api.fail("sendMessage", 429, retry_after=seconds)

    return Subject(adapter, write, api.sent_texts, fail_429)


@asynccontextmanager
async def _wecom(tmp_path: Path) -> AsyncIterator[Subject]:
    from fake_wecom_api import FakeWeCom
    from fault_support import free_port
    from test_wecom_adapter import wecom_config

    from bot.adapters.wecom.adapter import WeComAdapter

    fake = FakeWeCom()
    await fake.start()
    db = with_feature_tables(Database(f"sqlite+aiosqlite:///{tmp_path / 'wecom.db'}"))
    await db.migrate()
    port = free_port()
    web = WebServer(f"127.0.0.1:{port}")
    adapter = WeComAdapter(wecom_config(fake.base_url), web)
    adapter.use_database(db)
    await web.start()
    fake.callback_url = f"http://127.0.0.1:{port}/wecom/callback"

    async def write(text: str) -> None:
        await fake.customer_says("wmAnn", text)

    def received() -> list[str]:
        sent = fake.kf_sent
        return [m["text"]["content"] if "text" in m else m["msgmenu"]["head_content"] for m in sent]

    def fail_429(seconds: int) -> None:  # WeCom's 45009 names no wait: the adapter's backoff
        adapter.api.frequency_backoff = seconds
        fake.fail_next("kf/send_msg", 45009)

    try:
        yield Subject(adapter, write, received, fail_429)
    finally:
        await web.stop()
        await db.close()
        await fake.stop()


@pytest.fixture(params=["local", "aiogram", "ptb", "wecom"])
async def subject(
    request: pytest.FixtureRequest, fake_api: FakeBotAPI, tmp_path: Path
) -> AsyncIterator[Subject]:
    if request.param == "wecom":
        async with _wecom(tmp_path) as wecom:
            yield wecom
        return
    yield _local() if request.param == "local" else _telegram(fake_api, request.param)


async def _started(subject: Subject) -> tuple[Adapter, asyncio.Queue[Event]]:
    events: asyncio.Queue[Event] = asyncio.Queue()

    async def sink(event: Event) -> None:
        await events.put(event)

    await subject.adapter.start(sink)
    return subject.adapter, events


async def _stop(adapter: Adapter) -> None:
    await adapter.stop()
    close = getattr(adapter, "close", None)
    if close is not None:
        await close()


def test_capabilities_promise_only_what_is_implemented(subject: Subject) -> None:
    adapter = subject.adapter
    assert isinstance(adapter, Adapter)
    caps = adapter.capabilities
    for protocol, flag in REQUIRES.items():
        if getattr(caps, flag):
            assert isinstance(adapter, protocol), f"{flag} set but {protocol.__name__} missing"
            assert able(adapter, protocol) is adapter
    limits = adapter.limits
    if caps.buttons:
        assert limits.button_data_bytes >= DATA_BUDGET + SIGNATURE_BYTES
    pacing = limits.pacing
    assert pacing.per_second > 0 and pacing.per_chat_per_second > 0
    assert pacing.per_group_per_minute >= 1
    if limits.max_restriction is not None:
        assert limits.max_restriction > timedelta(0)


async def test_a_member_writes_and_is_answered_in_the_dm_the_adapter_names(
    subject: Subject,
) -> None:
    adapter, events = await _started(subject)
    try:
        me = await adapter.me()
        assert me.is_bot and me.platform == adapter.platform
        await subject.write("hello there")
        event = await asyncio.wait_for(events.get(), 10)
        assert isinstance(event, IncomingMessage) and event.text == "hello there"
        assert event.user.platform == event.chat.platform == adapter.platform
        dm = adapter.dm(event.user)
        assert dm == event.chat and dm.is_private  # where the member wrote from
        sent = await adapter.send(OutgoingMessage(dm, "welcome"))
        assert sent.chat == dm and sent.message_id
        assert subject.received()[-1] == "welcome"
        link = await adapter.deep_link("src-contract")
        assert link is None or "src-contract" in link
        if adapter.capabilities.buttons:  # the budget the core promises features fits
            data = "d" * (adapter.limits.button_data_bytes)
            await adapter.send(OutgoingMessage(dm, "pick", ((Button("ok", data=data),),)))
        editor = able(adapter, Editor)
        if editor is not None:
            await editor.edit(dm, sent.message_id, OutgoingMessage(dm, "welcome!"))
    finally:
        await _stop(adapter)


async def test_a_429_is_reported_at_once_never_slept_out(subject: Subject) -> None:
    if subject.fail_429 is None:
        pytest.skip("this platform has no rate limits to report")
    adapter, _events = await _started(subject)
    try:
        await subject.write("hi")  # where a platform has message windows, this opens one
        dm = adapter.dm((await asyncio.wait_for(_events.get(), 10)).user)
        subject.fail_429(5)
        started = time.monotonic()
        with pytest.raises(RateLimited) as limited:
            await adapter.send(OutgoingMessage(dm, "too soon"))
        assert limited.value.retry_after == 5
        assert time.monotonic() - started < 2.0  # the adapter did not wait the 5 s
        await adapter.send(OutgoingMessage(dm, "later"))
        assert subject.received()[-1] == "later"
    finally:
        await _stop(adapter)


def test_a_capability_less_platform_is_still_an_adapter() -> None:
    """The smallest adapter: five methods, two properties, no optional protocol."""
    toy = _Tiny()
    assert isinstance(toy, Adapter)
    assert all(not getattr(toy.capabilities, f.name) for f in fields(Capabilities))
    for protocol in REQUIRES:
        assert able(toy, protocol) is None


class _Tiny:
    platform = "tiny"
    capabilities = Capabilities()
    limits: Any = None

    async def start(self, sink: Any) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, message: OutgoingMessage) -> Any: ...

    async def me(self) -> UserRef:
        return UserRef("tiny", "0", is_bot=True)

    def dm(self, user: UserRef) -> Any: ...

    async def deep_link(self, payload: str) -> str | None:
        return None


def test_telegram_button_secret_is_the_one_earlier_versions_derived(tmp_path: Any) -> None:
    """Buttons already sent keep verifying: the seed is the token, as before."""
    import hashlib
    import hmac

    from harness import make_config

    from bot.adapters.aiogram_adapter import AiogramAdapter
    from bot.callbacks import resolve_secret

    config = make_config(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    seed = AiogramAdapter(TelegramConfig(token=TOKEN), None).secret_seed()
    expected = hmac.new(TOKEN.encode(), b"warmline callback secret v1", hashlib.sha256).digest()
    assert resolve_secret(config, seed) == expected
