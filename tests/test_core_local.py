"""The core end to end on the local adapter: dispatch, members, dedupe, isolation."""

from __future__ import annotations

from dataclasses import replace

from harness import local_bot, make_config

from bot.context import Context
from bot.router import Router
from handlers import default_routers


async def test_start_greets_and_records_source(sqlite_url: str) -> None:
    async with local_bot(make_config(sqlite_url)) as bot:
        alice = bot.user("Alice")
        replies = await bot.say(alice, "/start src-packagecard")
        assert len(replies) == 1 and "Alice" in replies[0].text
        member = await bot.app.services.members.get("local", "alice")
        assert member is not None and member.source == "packagecard" and member.started_bot
        # a later deep link does not overwrite the first source
        again = await bot.say(alice, "/start src-other")
        assert "Welcome back" in again[0].text
        member = await bot.app.services.members.get("local", "alice")
        assert member is not None and member.source == "packagecard"


async def test_chinese_member_gets_chinese_greeting(sqlite_url: str) -> None:
    async with local_bot(make_config(sqlite_url)) as bot:
        replies = await bot.say(bot.user("小明", lang="zh-hans"), "/start")
        assert "欢迎" in replies[0].text


async def test_referral_payload(sqlite_url: str) -> None:
    async with local_bot(make_config(sqlite_url)) as bot:
        await bot.say(bot.user("Bob"), "/start ref-ALICE42")
        member = await bot.app.services.members.get("local", "bob")
        assert (
            member is not None and member.source == "referral" and member.referrer_code == "ALICE42"
        )


async def test_duplicate_update_is_handled_once(sqlite_url: str) -> None:
    async with local_bot(make_config(sqlite_url)) as bot:
        event = bot.adapter.message(bot.user("Carol"), bot.group, "/help", update_key="tg:777")
        await bot.deliver(event)
        await bot.deliver(replace(event))
        assert len(bot.adapter.sent_to(bot.group.id)) == 1


async def test_failing_handler_does_not_stop_the_bot(sqlite_url: str) -> None:
    boom = Router("boom")

    @boom.command("boom")
    async def explode(ctx: Context) -> None:
        raise RuntimeError("handler bug")

    async with local_bot(make_config(sqlite_url), routers=[boom, *default_routers()]) as bot:
        dave = bot.user("Dave")
        apology = await bot.say(dave, "/boom")
        assert "went wrong" in apology[0].text
        replies = await bot.say(dave, "/help")
        assert "/start" in replies[0].text


async def test_help_shows_admin_commands_only_to_admins(sqlite_url: str) -> None:
    admin_router = Router("adm")

    @admin_router.command("secret", admin_only=True, summary_key="commands.help")
    async def secret(ctx: Context) -> None:
        await ctx.reply("ok")

    async with local_bot(
        make_config(sqlite_url), routers=[admin_router, *default_routers()]
    ) as bot:
        member_help = await bot.say(bot.user("Eve"), "/help")
        admin_help = await bot.say(bot.user("admin"), "/help")
        assert "/secret" not in member_help[0].text
        assert "/secret" in admin_help[0].text
        refused = await bot.say(bot.user("Eve"), "/secret")
        assert "only bot admins" in refused[0].text
        assert (await bot.say(bot.user("admin"), "/secret"))[0].text == "ok"


async def test_unknown_command_points_to_help(sqlite_url: str) -> None:
    async with local_bot(make_config(sqlite_url)) as bot:
        replies = await bot.say(bot.user("Finn"), "/frobnicate")
        assert "/help" in replies[0].text


async def test_group_join_records_membership(sqlite_url: str) -> None:
    async with local_bot(make_config(sqlite_url)) as bot:
        gina = bot.user("Gina")
        await bot.deliver(bot.adapter.joined(gina, bot.group))
        member = await bot.app.services.members.get("local", "gina")
        assert member is not None and not member.started_bot


async def test_order_within_a_chat_is_kept(sqlite_url: str) -> None:
    seen: list[str] = []
    order = Router("order")

    @order.message()
    async def remember(ctx: Context) -> None:
        assert ctx.message is not None
        seen.append(ctx.message.text)

    async with local_bot(make_config(sqlite_url), routers=[order]) as bot:
        user = bot.user("Hana")
        for number in range(20):
            await bot.adapter.deliver(bot.adapter.message(user, bot.group, str(number)))
        await bot.app.runner.wait_idle()
    assert seen == [str(number) for number in range(20)]
