"""Join captcha, welcome and cleanup, end to end on the local adapter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from moderation_support import (
    actions,
    buttons_of,
    community_bot,
    moderation_config,
    now_clock,
    say_in_group,
)

from bot.context import Context
from bot.errors import DeliveryError
from bot.events import MemberJoined
from bot.router import Router
from moderation.captcha import sweep
from moderation.service import Moderation

CAPTCHA = {"captcha": {"mode": "button", "timeout": "2m"}, "welcome": {"enabled": True}}


async def test_newcomer_is_restricted_until_the_button_then_welcomed(sqlite_url: str) -> None:
    greeted: list[str] = []
    greeter = Router("greeter")

    @greeter.joined()
    async def greet(ctx: Context) -> None:
        greeted.append(ctx.event.user.id)

    config = moderation_config(sqlite_url, rules="Be kind.", **CAPTCHA)
    async with community_bot(config, greeter) as bot:
        nina = bot.user("Nina")
        await bot.deliver(bot.adapter.joined(nina, bot.group))
        [restrict] = actions(bot, "restrict")
        assert restrict.user is not None and restrict.user.id == "nina"
        prompt = bot.adapter.sent_to(bot.group.id)[-1]
        assert "human" in prompt.text and greeted == []

        # spam before solving is deleted and never reaches other features
        spam = await say_in_group(bot, nina, "buy followers now")
        assert [a.kind for a in spam] == ["delete"]

        # somebody else cannot solve it for her
        [(_, data)] = buttons_of(prompt)
        other = await bot.press(bot.user("Mallory"), data, bot.group)
        assert other == [] and actions(bot, "unrestrict") == []

        before = len(bot.adapter.log)
        await bot.press(nina, data, bot.group)
        done = bot.adapter.log[before:]
        assert [a.kind for a in done if a.kind in {"unrestrict", "delete"}] == [
            "delete",
            "unrestrict",
        ]
        welcome = [a.message.text for a in done if a.kind == "send" and a.message]
        assert any("Nina" in text and "Be kind." in text for text in welcome)
        assert greeted == ["nina"]  # the join reached other features once solved

        # pressing again does nothing (the challenge is over)
        again = len(bot.adapter.log)
        await bot.press(nina, data, bot.group)
        assert [a.kind for a in bot.adapter.log[again:]] == ["toast"]


async def test_unsolved_captcha_times_out_and_the_newcomer_is_removed(sqlite_url: str) -> None:
    clock = now_clock()
    async with community_bot(moderation_config(sqlite_url, **CAPTCHA), clock=clock) as bot:
        mod = bot.app.services.require(Moderation)
        bob = bot.user("Bot Spammer")
        await bot.deliver(bot.adapter.joined(bob, bot.group))
        assert await sweep(mod, clock.now()) == 0
        clock.advance(timedelta(minutes=3))
        assert await sweep(mod, clock.now()) == 1
        kinds = [a.kind for a in bot.adapter.log if a.kind in {"ban", "unban", "delete"}]
        assert kinds == ["delete", "ban", "unban"]  # prompt removed, then kicked (not banned)
        assert await sweep(mod, clock.now()) == 0  # acted on once


async def test_question_captcha_wrong_answers_remove_the_newcomer(sqlite_url: str) -> None:
    config = moderation_config(sqlite_url, captcha={"mode": "question", "attempts": 2})
    async with community_bot(config) as bot:
        eve = bot.user("Eve")
        await bot.deliver(bot.adapter.joined(eve, bot.group))
        prompt = bot.adapter.sent_to(bot.group.id)[-1]
        choices = buttons_of(prompt)
        assert len(choices) == 4 and "+" in prompt.text
        a, b = (int(part) for part in prompt.text.split("is ")[1].split("?")[0].split(" + "))
        wrong = [data for label, data in choices if label != str(a + b)]
        await bot.press(eve, wrong[0], bot.group)
        assert actions(bot, "ban") == []
        await bot.press(eve, wrong[1], bot.group)
        assert len(actions(bot, "ban")) == 1 and len(actions(bot, "unban")) == 1


async def test_join_request_is_approved_by_a_captcha_in_dm(sqlite_url: str) -> None:
    config = moderation_config(sqlite_url, **CAPTCHA)
    async with community_bot(config) as bot:
        zoe = bot.user("Zoe", lang="zh-hans")
        await bot.deliver(bot.adapter.join_request(zoe, bot.group))
        [prompt] = bot.adapter.sent_to("zoe")
        assert "申请" in prompt.text  # in her language
        [(_, data)] = buttons_of(prompt)
        await bot.press(zoe, data)
        [approved] = actions(bot, "approve_join")
        assert approved.chat.id == bot.group.id
        # the platform then reports her join: no second captcha, just the welcome
        await bot.deliver(bot.adapter.joined(zoe, bot.group))
        assert actions(bot, "restrict") == []


async def test_unanswered_join_request_is_declined(sqlite_url: str) -> None:
    clock = now_clock()
    async with community_bot(moderation_config(sqlite_url, **CAPTCHA), clock=clock) as bot:
        await bot.deliver(bot.adapter.join_request(bot.user("Ghost"), bot.group))
        clock.advance(timedelta(minutes=5))
        await sweep(bot.app.services.require(Moderation), clock.now())
        assert len(actions(bot, "decline_join")) == 1


async def test_welcome_is_cleaned_up_after_a_while(sqlite_url: str) -> None:
    clock = now_clock()
    config = moderation_config(sqlite_url, welcome={"enabled": True, "delete_after": "10m"})
    async with community_bot(config, clock=clock) as bot:
        await bot.deliver(bot.adapter.joined(bot.user("Walt"), bot.group))
        welcome = [a for a in bot.adapter.log if a.kind == "send"][-1]
        assert actions(bot, "restrict") == []  # captcha off here
        mod = bot.app.services.require(Moderation)
        clock.advance(timedelta(minutes=9))
        await sweep(mod, clock.now())
        assert actions(bot, "delete") == []
        clock.advance(timedelta(minutes=2))
        await sweep(mod, clock.now())
        [deleted] = actions(bot, "delete")
        assert deleted.message_id == welcome.message_id


async def test_per_group_override_turns_the_captcha_off(sqlite_url: str) -> None:
    config = moderation_config(sqlite_url, **CAPTCHA, groups={"-100": {"captcha": {"mode": "off"}}})
    async with community_bot(config) as bot:
        await bot.deliver(bot.adapter.joined(bot.user("Olga"), bot.group))
        assert actions(bot, "restrict") == []


async def test_verified_join_is_not_challenged_twice(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url, **CAPTCHA)) as bot:
        ivan = bot.user("Ivan")
        await bot.deliver(bot.adapter.joined(ivan, bot.group))
        [(_, data)] = buttons_of(bot.adapter.sent_to(bot.group.id)[-1])
        await bot.press(ivan, data, bot.group)
        # leaving and coming back: he proved himself already
        await bot.deliver(bot.adapter.left(ivan, bot.group))
        await bot.deliver(bot.adapter.joined(ivan, bot.group))
        assert len(actions(bot, "restrict")) == 1
        assert isinstance(bot.adapter.joined(ivan, bot.group), MemberJoined)


async def test_with_every_feature_installed_the_guard_comes_first(sqlite_url: str) -> None:
    """The real default routers and installers: a newcomer under captcha reaches no
    other feature (no greeting, no funnel) until solved, and spam is stopped first."""
    from harness import local_bot

    config = moderation_config(sqlite_url, **CAPTCHA)
    async with local_bot(config) as bot:
        nina = bot.user("Nina")
        await bot.deliver(bot.adapter.joined(nina, bot.group))
        assert [a.kind for a in bot.adapter.log] == ["restrict", "send"]
        prompt = bot.adapter.sent_to(bot.group.id)[-1]
        spam = await say_in_group(bot, nina, "/start buy now")
        assert [a.kind for a in spam] == ["delete"]
        [(_, data)] = buttons_of(prompt)
        await bot.press(nina, data, bot.group)
        assert len(actions(bot, "unrestrict")) == 1
        refused = await say_in_group(bot, nina, "/ban", reply_to=bot.user("admin"))
        assert [a.kind for a in refused] == ["send"]


async def test_without_admin_rights_the_guard_fails_open(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    greeted: list[str] = []
    greeter = Router("greeter")

    @greeter.joined()
    async def greet(ctx: Context) -> None:
        greeted.append(ctx.event.user.id)

    async def no_rights(*args: object) -> None:
        raise DeliveryError("Bad Request: not enough rights")

    async with community_bot(moderation_config(sqlite_url, **CAPTCHA), greeter) as bot:
        monkeypatch.setattr(bot.adapter, "restrict", no_rights)
        await bot.deliver(bot.adapter.joined(bot.user("Pia"), bot.group))
        assert greeted == ["pia"]  # the group still works, a warning is logged
        # and no challenge was left behind to delete her messages
        found = await say_in_group(bot, bot.user("Pia"), "hello")
        assert [a.kind for a in found] == []
