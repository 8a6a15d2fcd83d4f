"""The same end-to-end scenarios for both Telegram libraries, against a fake Bot API.

Each test runs the real App (storage, dispatcher, handlers) with
``bot.platform: telegram`` and ``bot.telegram.library`` set to aiogram or ptb,
talking HTTP to :mod:`fake_bot_api`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import fake_bot_api
import pytest
import telegram_support
from fake_bot_api import TOKEN, FakeBotAPI

from bot.adapters.retry import RetryPolicy
from bot.adapters.telegram_base import TelegramAdapter
from bot.adapters.telegram_platform import telegram_config as telegram_section
from bot.app import App
from bot.config.model import WarmlineConfig
from bot.context import Context
from bot.errors import ConfigError, DeliveryError, RecipientUnreachable
from bot.events import Button, ChatKind, ChatRef, OutgoingDocument, OutgoingMessage, UserRef
from bot.router import Router

# the fixtures, shared with other test modules
fake_api = fake_bot_api.fake_api
library = telegram_support.library
# PTB announces, on every 429, that RetryAfter.retry_after will become a timedelta
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

SECRET = "s3cret-token"
ALICE = FakeBotAPI().updates.user(42, "Alice")
BOB = FakeBotAPI().updates.user(43, "Bob", username="bob")


def telegram_config(api: FakeBotAPI, library: str, db_url: str, **telegram: Any) -> WarmlineConfig:
    section = {
        "token": TOKEN,
        "library": library,
        "api_base": api.url,
        "poll_timeout": "20s",
        "max_retries": 3,
        "webhook": {"listen": "127.0.0.1:0"},  # other features may serve HTTP too
        **telegram,
    }
    return WarmlineConfig.model_validate(
        {
            "bot": {"platform": "telegram", "admins": ["1"], "telegram": section},
            "storage": {"database_url": db_url},
        }
    )


@asynccontextmanager
async def telegram_app(
    api: FakeBotAPI, library: str, db_url: str, routers: list[Router] | None = None, **telegram: Any
) -> AsyncIterator[App]:
    app = App(telegram_config(api, library, db_url, **telegram), routers=routers)
    adapter_of(app).retry = RetryPolicy(max_retries=3, base_delay=0.2)  # quick backoff
    try:
        await app.start()
        yield app
    finally:
        await app.stop()


def adapter_of(app: App) -> TelegramAdapter:
    assert isinstance(app.adapter, TelegramAdapter)
    return app.adapter


def webhook_settings(**extra: Any) -> dict[str, Any]:
    hook = {"listen": "127.0.0.1:0", "path": "/tg/hook", "secret_token": SECRET, **extra}
    return {"mode": "webhook", "webhook": hook}


async def post_update(app: App, body: bytes | dict[str, Any], secret: str | None) -> int:
    url = f"http://127.0.0.1:{app.web.port}/tg/hook"
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    async with aiohttp.ClientSession() as session:
        kwargs: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
        async with session.post(url, headers=headers, **kwargs) as response:
            return response.status


# -- receiving ---------------------------------------------------------------------
async def test_boot_gets_me_and_polls_then_stops_promptly(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    async with telegram_app(fake_api, library, sqlite_url) as app:
        await fake_api.wait_for("getUpdates")
        assert fake_api.calls_to("getMe") and fake_api.calls_to("deleteWebhook")
        assert adapter_of(app).converter.username == "warmline_test_bot"
        [poll] = fake_api.calls_to("getUpdates")
        assert poll.params["timeout"] == 20
        assert poll.params["allowed_updates"] == ["message", "callback_query", "chat_join_request"]
        started = time.monotonic()
    assert time.monotonic() - started < 2.0  # the 20 s long poll did not hold up stop()


async def test_start_greets_and_records_source(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    async with telegram_app(fake_api, library, sqlite_url) as app:
        fake_api.push(fake_api.updates.command(ALICE, "start", "src-packagecard"))
        [greeting] = await fake_api.wait_for("sendMessage")
        assert greeting.params["chat_id"] == 42 and "Alice" in greeting.params["text"]
        await app.runner.wait_idle()
        member = await app.services.members.get("telegram", "42")
        assert member is not None and member.source == "packagecard" and member.started_bot


async def test_duplicate_update_is_handled_once(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    async with telegram_app(fake_api, library, sqlite_url):
        help_update = fake_api.updates.command(ALICE, "help")
        fake_api.push(help_update, help_update)
        fake_api.push(fake_api.updates.command(ALICE, "start"))  # same chat: handled after
        await fake_api.wait_for("sendMessage", 2)
        await asyncio.sleep(0.1)
        texts = fake_api.sent_texts(42)
        assert len(texts) == 2 and "/start" in texts[0] and "Alice" in texts[1]


async def test_429_waits_retry_after_and_delivers(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    async with telegram_app(fake_api, library, sqlite_url):
        fake_api.fail("sendMessage", 429, retry_after=1)
        fake_api.push(fake_api.updates.command(ALICE, "help"))
        [delivered] = await fake_api.wait_for("sendMessage")
        [limited] = [c for c in fake_api.calls_to("sendMessage", ok_only=False) if c.status == 429]
        assert delivered.at - limited.at >= 0.95
        assert "/start" in delivered.params["text"]


async def test_5xx_is_retried_with_backoff(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    async with telegram_app(fake_api, library, sqlite_url):
        fake_api.fail("sendMessage", 500, times=2)
        fake_api.push(fake_api.updates.command(ALICE, "help"))
        await fake_api.wait_for("sendMessage")
        attempts = fake_api.calls_to("sendMessage", ok_only=False)
        assert [c.status for c in attempts] == [500, 500, 200]
        first_gap, second_gap = (b.at - a.at for a, b in itertools.pairwise(attempts))
        assert second_gap > first_gap * 1.5  # exponential


async def test_malformed_update_is_skipped_and_the_bot_keeps_answering(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    async with telegram_app(fake_api, library, sqlite_url):
        broken = fake_api.updates.command(ALICE, "help")
        broken["message"]["chat"] = "not a chat"
        fake_api.push(broken, fake_api.updates.wrap("message", {"text": "no ids"}))
        fake_api.push(fake_api.updates.command(ALICE, "start"))
        [reply] = await fake_api.wait_for("sendMessage")
        assert "Alice" in reply.params["text"]


async def test_stop_finishes_in_flight_updates(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    slow = Router("slow")
    entered = asyncio.Event()

    @slow.command("slow")
    async def take_time(ctx: Context) -> None:
        entered.set()
        await asyncio.sleep(0.3)
        await ctx.reply("done")

    async with telegram_app(fake_api, library, sqlite_url, routers=[slow]):
        fake_api.push(fake_api.updates.command(ALICE, "slow"))
        await asyncio.wait_for(entered.wait(), 5)
    assert fake_api.sent_texts(42) == ["done"]


# -- webhook -----------------------------------------------------------------------
async def test_webhook_checks_the_secret_and_handles_each_update_once(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    settings = webhook_settings(public_url="https://bot.example.com/tg/hook")
    async with telegram_app(fake_api, library, sqlite_url, **settings) as app:
        [hook] = fake_api.calls_to("setWebhook")
        assert hook.params["url"] == "https://bot.example.com/tg/hook"
        assert hook.params["secret_token"] == SECRET
        assert "chat_join_request" in hook.params["allowed_updates"]
        update = fake_api.updates.command(ALICE, "help")
        assert await post_update(app, update, None) == 401
        assert await post_update(app, update, "guess") == 401
        assert await post_update(app, b"{not json", SECRET) == 400
        await app.runner.wait_idle()
        assert fake_api.calls_to("sendMessage") == []
        assert await post_update(app, update, SECRET) == 200
        assert await post_update(app, update, SECRET) == 200  # Telegram redelivers
        await fake_api.wait_for("sendMessage")
        await app.runner.wait_idle()
        assert len(fake_api.sent_texts(42)) == 1
        assert fake_api.calls_to("getUpdates") == []


def test_webhook_mode_requires_a_secret(library: str, sqlite_url: str) -> None:
    config = telegram_config(FakeBotAPI(), library, sqlite_url, **webhook_settings())
    telegram_section(config).webhook.secret_token = None
    with pytest.raises(Exception, match=r"bot\.telegram\.webhook\.secret_token"):
        App(config)


def test_missing_token_says_how_to_set_it(library: str, sqlite_url: str) -> None:
    config = telegram_config(FakeBotAPI(), library, sqlite_url)
    telegram_section(config).token = None
    with pytest.raises(Exception, match="TELEGRAM_BOT_TOKEN"):
        App(config)


# -- actions -----------------------------------------------------------------------
GROUP = ChatRef("telegram", "-100123", ChatKind.GROUP)
MEMBER = UserRef("telegram", "43", "Bob")


async def test_actions_reach_the_api_with_the_right_params(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    until = datetime(2030, 1, 1, tzinfo=UTC)
    async with telegram_app(fake_api, library, sqlite_url) as app:
        adapter = adapter_of(app)
        sent = await adapter.send(
            OutgoingMessage(
                GROUP,
                "hello",
                buttons=((Button("Yes", data="y"), Button("Site", url="https://x.org")),),
                reply_to="7",
                silent=True,
            )
        )
        await adapter.edit(GROUP, sent.message_id, OutgoingMessage(GROUP, "edited"))
        await adapter.send_document(OutgoingDocument(GROUP, "notes.txt", b"tea", caption="c"))
        await adapter.answer_button("cb9", "thanks")
        await adapter.delete(GROUP, "7")
        await adapter.restrict(GROUP, MEMBER, until)
        await adapter.unrestrict(GROUP, MEMBER)
        await adapter.ban(GROUP, MEMBER, until=until)
        await adapter.unban(GROUP, MEMBER)
        await adapter.approve_join(GROUP, MEMBER)
        await adapter.decline_join(GROUP, MEMBER)
        fake_api.admins[-100123] = [BOB]
        admins = await adapter.list_admins(GROUP)

    def params(method: str) -> list[dict[str, Any]]:
        return [c.params for c in fake_api.calls_to(method)]

    [message] = params("sendMessage")
    assert message["chat_id"] == -100123 and message["disable_notification"] is True
    assert message["reply_parameters"]["message_id"] == 7
    assert message["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Yes", "callback_data": "y"}, {"text": "Site", "url": "https://x.org"}]
        ]
    }
    [edit] = params("editMessageText")
    assert edit["message_id"] == int(sent.message_id) and edit["text"] == "edited"
    [doc] = fake_api.calls_to("sendDocument")
    assert doc.files["document"] == ("notes.txt", b"tea") and doc.params["caption"] == "c"
    assert params("answerCallbackQuery") == [{"callback_query_id": "cb9", "text": "thanks"}]
    assert params("deleteMessage") == [{"chat_id": -100123, "message_id": 7}]
    mute, lift = params("restrictChatMember")
    assert mute["user_id"] == 43 and mute["until_date"] == int(until.timestamp())
    assert mute["permissions"]["can_send_messages"] is False
    assert lift["permissions"]["can_send_messages"] is True and "until_date" not in lift
    [ban] = params("banChatMember")
    assert ban["user_id"] == 43 and ban["until_date"] == int(until.timestamp())
    assert params("unbanChatMember") == [
        {"chat_id": -100123, "user_id": 43, "only_if_banned": True}
    ]
    assert params("approveChatJoinRequest") == [{"chat_id": -100123, "user_id": 43}]
    assert params("declineChatJoinRequest") == [{"chat_id": -100123, "user_id": 43}]
    assert admins == [UserRef("telegram", "43", "Bob", "bob", "en")]


async def test_blocked_member_raises_recipient_unreachable(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    async with telegram_app(fake_api, library, sqlite_url) as app:
        adapter = adapter_of(app)
        dm = ChatRef("telegram", "42")
        fake_api.fail("sendMessage", 403)
        with pytest.raises(RecipientUnreachable):
            await adapter.send(OutgoingMessage(dm, "hi"))
        fake_api.fail("sendMessage", 400)
        with pytest.raises(DeliveryError) as bad:
            await adapter.send(OutgoingMessage(dm, "hi"))
        assert not isinstance(bad.value, RecipientUnreachable)
        assert len(fake_api.calls_to("sendMessage", ok_only=False)) == 2  # no retries


async def test_poll_survives_a_failing_get_updates(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    fake_api.fail("getUpdates", 429, retry_after=1)
    async with telegram_app(fake_api, library, sqlite_url):
        fake_api.push(fake_api.updates.command(ALICE, "help"))
        await fake_api.wait_for("sendMessage")
    limited, retried = fake_api.calls_to("getUpdates", ok_only=False)[:2]
    assert limited.status == 429 and retried.at - limited.at >= 0.95


async def test_rejected_token_is_a_clear_start_up_error(
    fake_api: FakeBotAPI, library: str, sqlite_url: str
) -> None:
    fake_api.fail("getMe", 401, description="Unauthorized")
    with pytest.raises(ConfigError, match=r"bot\.telegram\.token: .*refused getMe"):
        async with telegram_app(fake_api, library, sqlite_url):
            pass
