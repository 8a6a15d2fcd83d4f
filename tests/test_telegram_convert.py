"""Telegram update → neutral event mapping (both adapters' ``parse``) and the retry policy."""

from __future__ import annotations

from typing import Any

import pytest
from fake_bot_api import TOKEN, UpdateFactory

from bot.adapters.retry import RetryPolicy
from bot.adapters.telegram_base import TelegramAdapter
from bot.adapters.telegram_platform import TelegramConfig
from bot.errors import DeliveryError, RateLimited, TransientError
from bot.events import (
    ButtonPressed,
    ChatKind,
    Command,
    IncomingMessage,
    JoinRequest,
    MemberJoined,
    MemberLeft,
)

make = UpdateFactory()
ALICE = make.user(42, "Alice", last_name="Liddell", username="alice")
BOB = make.user(43, "Bob")
GROUP = make.group()


@pytest.fixture(params=["aiogram", "ptb"])
def adapter(request: pytest.FixtureRequest) -> TelegramAdapter:
    config = TelegramConfig(token=TOKEN)
    if request.param == "aiogram":
        from bot.adapters.aiogram_adapter import AiogramAdapter

        built: TelegramAdapter = AiogramAdapter(config)
    else:
        from bot.adapters.ptb_adapter import PtbAdapter

        built = PtbAdapter(config)
    built.converter.username = "warmline_test_bot"
    return built


def message_of(adapter: TelegramAdapter, raw: dict[str, Any]) -> IncomingMessage:
    event = adapter.parse(raw)
    assert isinstance(event, IncomingMessage)
    return event


def test_command_in_a_group(adapter: TelegramAdapter) -> None:
    raw = make.message(ALICE, "/start@warmline_test_bot src-card", GROUP)
    event = message_of(adapter, raw)
    assert event.update_key == f"tg:123456:{raw['update_id']}"
    assert event.command == Command("start", "src-card")
    assert event.chat.kind is ChatKind.GROUP and event.chat.id == "-100123"
    assert event.user.id == "42" and event.user.display_name == "Alice Liddell"
    assert event.user.username == "alice" and event.message_id == str(raw["message"]["message_id"])
    assert event.entities[0].type == "bot_command"
    other_bot = message_of(adapter, make.message(ALICE, "/start@someone_else", GROUP))
    assert other_bot.command is None


def test_mention_counts_utf16_offsets(adapter: TelegramAdapter) -> None:
    text = "🍵 hi @Warmline_Test_Bot and @other"
    entities = [
        {"type": "mention", "offset": 6, "length": 18},
        {"type": "mention", "offset": 29, "length": 6},
    ]
    assert message_of(adapter, make.message(ALICE, text, GROUP, entities=entities)).mentions_bot
    only_other = [entities[1]]
    assert not message_of(
        adapter, make.message(ALICE, text, GROUP, entities=only_other)
    ).mentions_bot


def test_reply_forward_and_media(adapter: TelegramAdapter) -> None:
    replied = {"message_id": 5, "date": 1, "chat": GROUP, "from": BOB, "text": "green or black?"}
    event = message_of(adapter, make.message(ALICE, "green", GROUP, reply_to_message=replied))
    assert event.reply_to is not None and event.reply_to.message_id == "5"
    assert event.reply_to.user is not None and event.reply_to.user.id == "43"
    assert event.reply_to.text == "green or black?"
    forwarded = make.message(ALICE, "deal!", GROUP, forward_origin={"type": "channel", "date": 1})
    assert message_of(adapter, forwarded).forwarded_from_channel
    photo = make.wrap(
        "message",
        {
            "message_id": 9,
            "date": 1,
            "chat": GROUP,
            "from": ALICE,
            "photo": [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}],
            "caption": "my tea",
        },
    )
    event = message_of(adapter, photo)
    assert event.has_media and event.text == "my tea" and not event.forwarded_from_channel


def test_topic_messages_do_not_count_as_replies(adapter: TelegramAdapter) -> None:
    topic = {"message_id": 2, "date": 1, "chat": GROUP, "forum_topic_created": {"name": "t"}}
    raw = make.message(ALICE, "hi", GROUP, reply_to_message=topic, is_topic_message=True)
    assert message_of(adapter, raw).reply_to is None


def test_join_and_leave(adapter: TelegramAdapter) -> None:
    raw = make.join([ALICE, BOB], GROUP, by=BOB)
    events = adapter.events_of(raw)
    assert [type(e) for e in events] == [MemberJoined, MemberJoined]
    assert len({e.update_key for e in events}) == 2
    first = adapter.parse(raw)
    assert isinstance(first, MemberJoined) and first.user.id == "42"
    assert first.inviter is not None and first.inviter.id == "43"
    kicked = adapter.parse(make.left(ALICE, GROUP, by=BOB))
    assert isinstance(kicked, MemberLeft) and kicked.kicked_by is not None
    left = adapter.parse(make.left(ALICE, GROUP))
    assert isinstance(left, MemberLeft) and left.kicked_by is None


def test_chat_member_updates(adapter: TelegramAdapter) -> None:
    def change(old: str, new: str) -> dict[str, Any]:
        payload = {
            "chat": GROUP,
            "from": ALICE,
            "date": 1,
            "old_chat_member": {"status": old, "user": ALICE},
            "new_chat_member": {"status": new, "user": ALICE},
        }
        return make.wrap("chat_member", payload)

    assert isinstance(adapter.parse(change("left", "member")), MemberJoined)
    assert isinstance(adapter.parse(change("member", "kicked")), MemberLeft)
    assert adapter.parse(change("member", "administrator")) is None


def test_join_request_and_button(adapter: TelegramAdapter) -> None:
    request = adapter.parse(make.join_request(ALICE, GROUP, bio="tea lover"))
    assert isinstance(request, JoinRequest) and request.bio == "tea lover"
    assert request.chat.id == "-100123" and request.user.id == "42"
    pressed = adapter.parse(make.callback(ALICE, "menu:faq", GROUP, message_id=77))
    assert isinstance(pressed, ButtonPressed)
    assert pressed.data == "menu:faq" and pressed.message_id == "77"
    assert pressed.chat.kind is ChatKind.GROUP and pressed.callback_id.startswith("cb")


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"update_id": "x", "message": {}},
        {"update_id": 1, "message": "text"},
        {"update_id": 1, "message": {"from": {"id": 1}, "chat": {"id": 1, "type": "weird"}}},
        {"update_id": 1, "message": {"from": {"id": 1}, "chat": {"id": 1, "type": "private"}}},
        {"update_id": 1, "callback_query": {"id": "c"}},
    ],
)
def test_malformed_updates_are_skipped(adapter: TelegramAdapter, raw: dict[str, Any]) -> None:
    assert adapter.parse(raw) is None


def test_uninteresting_updates(adapter: TelegramAdapter) -> None:
    edited = make.message(ALICE, "typo")
    edited["edited_message"] = edited.pop("message")
    assert adapter.parse(edited) is None
    channel_post = make.message(ALICE, "news", {"id": -1009, "type": "channel", "title": "C"})
    del channel_post["message"]["from"]
    assert adapter.parse(channel_post) is None


# -- the retry policy ------------------------------------------------------------
class Script:
    """Fails with the given errors in order, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def classify(exc: BaseException) -> DeliveryError | TransientError | None:
    return exc if isinstance(exc, DeliveryError | TransientError) else None


def policy(slept: list[float], max_retries: int = 3) -> RetryPolicy:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return RetryPolicy(max_retries=max_retries, base_delay=0.5, sleep=sleep)


async def test_rate_limits_are_reported_at_once_for_the_core_to_hold() -> None:
    slept: list[float] = []
    call = Script(*(RateLimited(3) for _ in range(6)))
    with pytest.raises(RateLimited) as limited:
        await policy(slept, max_retries=1).run(call, classify, "send")
    assert limited.value.retry_after == 3 and slept == [] and call.calls == 1


async def test_transient_errors_back_off_then_give_up() -> None:
    slept: list[float] = []
    call = Script(*(TransientError("502") for _ in range(10)))
    with pytest.raises(TransientError):
        await policy(slept).run(call, classify, "send")
    assert slept == [0.5, 1.0, 2.0] and call.calls == 4


async def test_final_and_foreign_errors_are_not_retried() -> None:
    slept: list[float] = []
    with pytest.raises(DeliveryError):
        await policy(slept).run(Script(DeliveryError("chat not found")), classify, "send")
    with pytest.raises(ZeroDivisionError):
        await policy(slept).run(Script(ZeroDivisionError()), classify, "send")
    assert slept == []
