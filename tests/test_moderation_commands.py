"""Moderation commands: permission, targets, warnings escalation, audit, reports."""

from __future__ import annotations

from datetime import timedelta

import pytest
from moderation_support import (
    actions,
    community_bot,
    moderation_config,
    now_clock,
    say_in_group,
    texts,
)

from bot.events import UserRef
from moderation.store import ModerationStore

WARNINGS = {"warnings": {"mute_at": 2, "mute_for": "1h", "ban_at": 3, "expire_after": "7d"}}


async def test_warnings_escalate_to_mute_then_ban(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url, **WARNINGS)) as bot:
        admin, wes = bot.user("admin"), bot.user("Wes")
        await say_in_group(bot, wes, "hi all")
        first = await say_in_group(bot, admin, "/warn spamming links", reply_to=wes)
        assert "(1/3)" in texts(first)[0] and "spamming links" in texts(first)[0]
        assert actions(bot, "restrict") == [] and actions(bot, "ban") == []
        second = await say_in_group(bot, admin, "/warn @wes again")
        [mute] = [a for a in second if a.kind == "restrict"]
        assert mute.detail["until"] is not None and any("muted" in t for t in texts(second))
        third = await say_in_group(bot, admin, "/warn wes third time")
        assert [a.kind for a in third if a.kind == "ban"] == ["ban"]
        store = bot.app.services.require(ModerationStore)
        entries, _ = await store.recent_actions("local", limit=50)
        assert [e.action for e in reversed(entries)] == ["warn", "warn", "mute", "warn", "ban"]
        assert entries[-1].actor_user_id == "admin" and entries[0].actor_user_id == "bot"


async def test_warnings_expire_and_can_be_revoked(sqlite_url: str) -> None:
    clock = now_clock()
    async with community_bot(moderation_config(sqlite_url, **WARNINGS), clock=clock) as bot:
        admin, una = bot.user("admin"), bot.user("Una")
        await say_in_group(bot, una, "hello")
        await say_in_group(bot, admin, "/warn", reply_to=una)
        removed = await say_in_group(bot, admin, "/unwarn", reply_to=una)
        assert "0" in texts(removed)[0]
        nothing = await say_in_group(bot, admin, "/unwarn", reply_to=una)
        assert "no active warnings" in texts(nothing)[0]
        await say_in_group(bot, admin, "/warn", reply_to=una)
        clock.advance(timedelta(days=8))  # the first warning expired
        again = await say_in_group(bot, admin, "/warn", reply_to=una)
        assert "(1/3)" in texts(again)[0] and actions(bot, "restrict") == []


async def test_non_admin_ban_is_refused_without_a_platform_call(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url)) as bot:
        rex, tim = bot.user("Rex"), bot.user("Tim")
        await say_in_group(bot, tim, "hi")
        for command in ("/ban", "/kick", "/mute 1h", "/warn rude", "/unban", "/setrules mine"):
            found = await say_in_group(bot, rex, command, reply_to=tim)
            assert [a.kind for a in found] == ["send"], command
            assert "Only this group's admins" in texts(found)[0]
        store = bot.app.services.require(ModerationStore)
        assert (await store.recent_actions("local"))[1] == 0


async def test_real_group_admins_are_asked_of_the_platform_and_cached(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with community_bot(moderation_config(sqlite_url)) as bot:
        calls: list[str] = []

        async def list_admins(chat: object) -> list[UserRef]:
            calls.append("list_admins")
            return [UserRef("local", "gina")]

        monkeypatch.setattr(bot.adapter, "list_admins", list_admins)
        gina, tom = bot.user("Gina"), bot.user("Tom")
        await say_in_group(bot, tom, "hey")
        await say_in_group(bot, gina, "/mute 30m calm down", reply_to=tom)
        await say_in_group(bot, gina, "/unmute", reply_to=tom)
        await say_in_group(bot, gina, "/kick", reply_to=tom)
        assert [a.kind for a in bot.adapter.log if a.kind != "send"] == [
            "restrict",
            "unrestrict",
            "ban",
            "unban",
        ]
        assert len(calls) == 1  # cached between commands
        # admins cannot be moderated, not even by other admins
        refused = await say_in_group(bot, bot.user("admin"), "/ban", reply_to=gina)
        assert "admin" in texts(refused)[0] and actions(bot, "ban")[-1].user != gina


BAD_INPUT = [
    ("/ban", "Usage: reply to a message with /ban"),
    ("/mute", "Usage: reply to a message with /mute"),
    ("/warn", "Usage: reply to a message with /warn"),
    ("/ban @nobody", "I don't know that member"),
    ("/ban " + "9" * 500, "I don't know that member"),
    ("/mute @tim 5x", "can't read the duration"),
    ("/mute @tim 999d", "can't read the duration"),
    ("/report", "Usage: reply to the message"),
    ("/setrules", "Usage: /setrules"),
]


async def test_bad_arguments_get_a_usage_line(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url)) as bot:
        await say_in_group(bot, bot.user("Tim"), "hi")
        for command, expected in BAD_INPUT:
            found = await say_in_group(bot, bot.user("admin"), command)
            assert [a.kind for a in found] == ["send"], command
            assert expected in texts(found)[0], command
        # in a DM, group commands say where they work; unknown ones point to /help
        assert "works in a group" in (await bot.say(bot.user("Tim"), "/ban"))[0].text
        assert "/help" in (await bot.say(bot.user("Tim"), "/frobnicate"))[0].text


async def test_mute_with_duration_and_ban_by_username(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url, log_chat="-999")) as bot:
        tim = UserRef("local", "4242", "Tim", username="timmy")
        await say_in_group(bot, tim, "hi")
        admin = bot.user("admin")
        muted = await say_in_group(bot, admin, "/mute @TIMMY 2h flooding")
        [restrict] = [a for a in muted if a.kind == "restrict"]
        delta = restrict.detail["until"] - bot.app.services.clock.now()
        assert timedelta(hours=1, minutes=59) < delta <= timedelta(hours=2)
        banned = await say_in_group(bot, admin, "/ban 4242 scam")
        assert [a.user.id for a in banned if a.kind == "ban" and a.user] == ["4242"]
        log_copies = bot.adapter.sent_to("-999")
        assert len(log_copies) == 2 and "scam" in log_copies[1].text and "Tim" in log_copies[1].text


async def test_rules_and_setrules(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url, rules="Default rules")) as bot:
        member = bot.user("Mia")
        assert "Default rules" in texts(await say_in_group(bot, member, "/rules"))[0]
        await say_in_group(bot, bot.user("admin"), "/setrules 1. Be kind 🍵\n2. No ads")
        assert "No ads" in texts(await say_in_group(bot, member, "/rules"))[0]
        too_long = await say_in_group(bot, bot.user("admin"), "/setrules " + "x" * 5000)
        assert "too long" in texts(too_long)[0]
        in_dm = await bot.say(member, "/rules")
        assert "works in a group" in in_dm[0].text


async def test_report_flags_a_message_to_the_admins(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url)) as bot:
        spammer, kim = bot.user("Spammer"), bot.user("Kim")
        await say_in_group(bot, spammer, "cheap pills")
        found = await say_in_group(bot, kim, "/report", reply_to=spammer)
        [alert] = bot.adapter.sent_to("admin")
        assert "Kim" in alert.text and "Spammer" in alert.text
        assert "admins have been told" in texts(found)[-1]
        assert actions(bot, "ban") == []


async def test_long_unicode_reason_is_stored_trimmed(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url)) as bot:
        ola = bot.user("Ola")
        await say_in_group(bot, ola, "hi")
        reason = "Z̷̢͉a̸l̵g̶o̴ 🍵 \u202e" * 400
        found = await say_in_group(bot, bot.user("admin"), f"/warn {reason}", reply_to=ola)
        assert "warned" in texts(found)[0]
        entries, _ = await bot.app.services.require(ModerationStore).recent_actions("local")
        assert len(entries[0].reason) == 512
