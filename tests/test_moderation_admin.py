"""Admin commands in DM: /stats, and lists paged with buttons."""

from __future__ import annotations

from moderation_support import community_bot, moderation_config, say_in_group

from handlers.admin_lists import PAGE_SIZE


async def test_stats_for_admins_only(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url)) as bot:
        await bot.say(bot.user("Ada"), "/start src-poster")
        await bot.say(bot.user("Ben"), "/start src-poster")
        await bot.say(bot.user("Cy"), "/start ref-ADA1")
        refused = await bot.say(bot.user("Ada"), "/stats")
        assert "only bot admins" in refused[0].text
        [stats] = await bot.say(bot.user("admin"), "/stats")
        assert "Members: 4" in stats.text  # three members and the admin
        assert "poster: 2" in stats.text and "referral: 1" in stats.text
        assert "Funnel stages" in stats.text and "Push decisions" in stats.text


async def test_stats_in_chinese(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url)) as bot:
        [stats] = await bot.say(bot.user("admin", lang="zh-CN"), "/stats")
        assert "成员" in stats.text


async def test_members_list_is_paged_with_buttons(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url)) as bot:
        for number in range(PAGE_SIZE + 3):
            await bot.say(bot.user(f"M{number:02d}"), "/start")
        admin = bot.user("admin")
        [first] = await bot.say(admin, "/members")
        assert "page 1/2" in first.text and first.text.count("•") == PAGE_SIZE
        [[next_button]] = first.buttons
        assert next_button.data is not None
        # a member cannot turn an admin's page, even with the genuine button
        assert await bot.press(bot.user("M00"), next_button.data) == []
        [second] = await bot.press(admin, next_button.data)
        assert "page 2/2" in second.text and second.text.count("•") == 4
        [[previous]] = second.buttons
        assert "Previous" in previous.text
        assert "Usage: /members" in (await bot.say(admin, "/members two"))[0].text
        assert "Usage: /members" in (await bot.say(admin, "/members 0"))[0].text


async def test_modlog_lists_actions(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url)) as bot:
        pat = bot.user("Pat")
        await say_in_group(bot, pat, "hi")
        await say_in_group(bot, bot.user("admin"), "/warn rude words", reply_to=pat)
        await say_in_group(bot, bot.user("admin"), "/mute 1h", reply_to=pat)
        await say_in_group(bot, bot.user("admin"), "/setrules Be kind.")
        [log] = await bot.say(bot.user("admin"), "/modlog")
        assert "3 entries" in log.text
        lines = log.text.splitlines()
        [warned] = [line for line in lines if "warning" in line]
        assert "Pat" in warned and "rude words" in warned
        # people read the group's title and words, never a chat id or a bare dash
        assert all("in Test Group" in line for line in lines if line.startswith("•"))
        assert "-100" not in log.text and " - " not in log.text and "; -" not in log.text
        [muted] = [line for line in lines if " mute: Pat by admin" in line]
        assert muted.endswith("no reason given")
        [rules] = [line for line in lines if "rules changed" in line]
        assert rules.startswith("• ") and "rules changed by " in rules
        [stats] = await bot.say(bot.user("admin"), "/stats")
        assert "Moderation actions (7 days):\n" in stats.text and "  warning: 1" in stats.text
        assert "\n  -" not in stats.text and "-100" not in stats.text
        assert "no source (came directly): 2" in stats.text
