"""/segment and /broadcast with segments on the local adapter, ``warmline broadcast
--segment``, and the dashboard's member search in the same filter language."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from harness import LocalBot, local_bot, make_config
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.config.model import WarmlineConfig
from bot.i18n import Catalog
from bot.web import WebServer
from insight.dashboard.app import mount
from insight.passwords import hash_password
from push.campaigns import Campaigns
from storage.segment_filter import MESSAGES

PUSH = {
    "quiet_hours": None,
    "min_gap": 0,
    "progress_every": 0.05,
    "pacing": {"per_second": 200, "per_chat_per_second": 100},
}


def config(url: str) -> WarmlineConfig:
    return make_config(url, push=PUSH)


def received(bot: LocalBot, text: str) -> Counter[str]:
    return Counter(
        a.chat.id
        for a in bot.adapter.log
        if a.kind == "send" and a.message is not None and a.message.text == text
    )


async def _members(bot: LocalBot) -> None:
    """Ann and Ben are vip, Ann also oolong; Dot speaks Chinese; all four started the bot."""
    for name, lang in (("Ann", "en"), ("Ben", "en"), ("Cy", "en"), ("Dot", "zh")):
        await bot.say(bot.user(name, lang), "/start")
    admin = bot.user("admin")
    for who, tag in (("ann", "vip"), ("ben", "vip"), ("ann", "oolong")):
        assert "Tagged" in (await bot.say(admin, f"/tag {who} {tag}"))[0].text


async def _broadcast(bot: LocalBot, segment: str, text: str) -> tuple[str, Counter[str]]:
    """Preview, confirm, wait: the preview's text and who got ``text``."""
    admin = bot.user("admin")
    preview = (await bot.say(admin, f"/broadcast {segment} {text}"))[0]
    found = re.search(r"Broadcast (\S+) to", preview.text)
    assert found is not None, preview.text
    confirm = preview.buttons[0][0].data
    assert confirm is not None
    await bot.press(admin, confirm)
    await bot.app.services.require(Campaigns).wait(found.group(1))
    return preview.text, received(bot, text)


def test_every_error_has_a_chat_text_in_each_language() -> None:
    catalog = Catalog()
    for code in MESSAGES:
        for lang in ("en", "zh"):
            assert f"segment.error.{code}" in catalog.keys(lang), (code, lang)
        assert catalog.fields("en", f"segment.error.{code}") == catalog.fields(
            "zh", f"segment.error.{code}"
        )


async def test_segment_list_count_save_delete(sqlite_url: str) -> None:
    async with local_bot(config(sqlite_url)) as bot:
        await _members(bot)
        admin = bot.user("admin")

        async def say(text: str) -> str:
            return (await bot.say(admin, text))[0].text

        listed = await say("/segment")
        # the admin wrote to the bot but never /started it: a member, not reachable
        assert "• all — members: 5, reachable: 4" in listed
        assert "No saved segments yet." in listed and "tier:<ordinary|active|core>" in listed

        counted = await say("/segment tag:vip")
        assert counted.startswith("tag:vip\nmembers: 2, reachable by DM: 2")
        assert counted.endswith("\nBen, Ann")  # newest first
        assert "members: 3," in await say("/segment !tag:oolong lang:en")  # ben, cy, admin
        assert "members: 1," in await say("/segment lang:zh")
        assert "(nobody)" in await say("/segment tag:vip lang:zh")
        assert 'unknown tier "gold"' in await say("/segment tier:gold")
        not_a_term = await say("/segment vip")  # no saved segment of that name yet
        assert not_a_term.startswith('"vip" is not a filter term') and "tag:vip" in not_a_term

        saved = await say("/segment save VIP tag:vip !tag:oolong")
        assert saved.startswith(
            "Saved segment vip = tag:vip !tag:oolong (members: 1, reachable: 1)"
        )
        assert "/broadcast vip <text>" in saved
        assert "• vip = tag:vip !tag:oolong — members: 1, reachable: 1" in await say("/segment")
        assert (await say("/segment vip")).startswith("vip = tag:vip !tag:oolong\nmembers: 1,")
        assert "now means tag:vip" in await say("/segment save vip tag:vip")
        assert "members: 2," in await say("/segment vip")  # live: redefined

        assert "built-in segment" in await say("/segment save all tag:vip")
        assert "cannot name a segment" in await say("/segment save a:b tag:vip")
        assert "Usage: /segment save" in await say("/segment save vip")
        assert "unknown kind" in await say("/segment save x colour:red")
        assert await say("/segment delete vip") == "Deleted segment vip."
        assert 'No saved segment "vip"' in await say("/segment delete vip")
        assert "Usage: /segment delete" in await say("/segment delete")
        member = (await bot.say(bot.user("Ann"), "/segment"))[0].text
        assert "only bot admins" in member


async def test_broadcast_to_a_filter_term_and_to_a_saved_segment(sqlite_url: str) -> None:
    async with local_bot(config(sqlite_url)) as bot:
        await _members(bot)
        admin = bot.user("admin")
        preview, got = await _broadcast(bot, "tag:vip", "VIP tasting on Friday")
        assert 'segment "tag:vip": 2 members' in preview and "sent 2" in preview
        assert got == Counter({"ann": 1, "ben": 1})

        await bot.say(admin, "/segment save plain !tag:vip lang:en")
        preview, got = await _broadcast(bot, "plain", "Spring green is in")
        assert 'segment "plain = !tag:vip lang:en": 1 member' in preview
        assert got == Counter({"cy": 1})

        # a negated term; the gate's plan names what it would drop, and why
        await bot.say(bot.user("Dot", "zh"), "/stop")
        preview, got = await _broadcast(bot, "!tag:vip", "Tea class")
        assert "2 members" in preview and "sent 1" in preview and "opted out 1" in preview
        assert got == Counter({"cy": 1})

        usage = (await bot.say(admin, "/broadcast plain"))[0].text
        assert usage.startswith("Usage: /broadcast") and "all, plain" in usage
        unknown = (await bot.say(admin, "/broadcast vips Hi"))[0].text
        assert unknown.startswith('Unknown segment "vips". Segments: all, plain')
        bad = (await bot.say(admin, "/broadcast tier:gold Hi"))[0].text
        assert 'unknown tier "gold"' in bad
        assert '"!vip" is not a filter term' in (await bot.say(admin, "/broadcast !vip Hi"))[0].text
        two = (await bot.say(admin, "/broadcast tag:vip lang:zh Hi"))[0].text
        assert two.startswith("/broadcast takes one filter term, and lang:zh looks like a second")
        note = (await bot.say(admin, "/broadcast tag:vip Note: tea class at 5"))[0].text
        assert note.startswith("Broadcast ")  # "Note:" is no filter term: it is the text


async def test_a_broadcast_goes_to_the_segment_it_was_previewed_with(sqlite_url: str) -> None:
    async with local_bot(config(sqlite_url)) as bot:
        await _members(bot)
        admin = bot.user("admin")
        await bot.say(admin, "/segment save fans tag:oolong")
        preview = (await bot.say(admin, "/broadcast fans Harvest news"))[0]
        await bot.say(admin, "/segment save fans !tag:oolong")  # redefined before the confirm
        confirm = preview.buttons[0][0].data
        assert confirm is not None
        await bot.press(admin, confirm)
        found = re.search(r"Broadcast (\S+) to", preview.text)
        assert found is not None
        await bot.app.services.require(Campaigns).wait(found.group(1))
        assert received(bot, "Harvest news") == Counter({"ann": 1})


def test_cli_broadcast_accepts_names_and_filters(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"

    async def seed() -> None:
        async with local_bot(config(url)) as bot:
            await _members(bot)
            await bot.say(bot.user("admin"), "/segment save vip tag:vip")

    asyncio.run(seed())
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"bot:\n  platform: local\n  admins: [admin]\nstorage:\n  database_url: {url}\n"
        "push:\n  quiet_hours: null\n  min_gap: 0\n",
        encoding="utf-8",
    )
    runner = CliRunner()

    def broadcast(segment: str, *extra: str) -> tuple[int, str]:
        args = ["broadcast", "-c", str(cfg), "-s", segment, "-t", "hi", *extra]
        result = runner.invoke(cli, args)
        return result.exit_code, result.output

    code, out = broadcast("vip", "--dry-run")
    assert code == 0 and "2 members in segment vip = tag:vip" in out, out
    code, out = broadcast("tag:vip !tag:oolong", "--dry-run")  # quoted: several terms
    assert code == 0 and "1 member" in out and "sent 1" in out, out
    code, out = broadcast("tier:gold")
    assert code == 2 and 'unknown tier "gold"' in out, out
    code, out = broadcast("vips")
    assert code == 2 and "unknown segment 'vips'; known: all, vip" in out, out
    code, out = broadcast("lang:zh")
    assert code == 0 and "1 member" in out and "done: sent 1" in out, out


async def test_dashboard_member_search_reads_the_filter_language(sqlite_url: str) -> None:
    async with local_bot(config(sqlite_url)) as bot:
        await _members(bot)
        async with _dashboard(bot) as (http, base):

            async def names(**query: str) -> tuple[int, object]:
                async with http.get(base + "/api/members", params=query) as response:
                    body = await response.json()
                    if response.status != 200:
                        return response.status, body
                return 200, sorted(m["name"].lower() for m in body["members"])

            assert await names(filter="tag:vip") == (200, ["ann", "ben"])
            assert await names(filter="!tag:vip lang:en") == (200, ["admin", "cy"])
            assert await names(filter="tag:vip", q="be") == (200, ["ben"])
            assert await names(filter="lang:zh !stage:customer") == (200, ["dot"])
            assert await names(tag="oolong") == (200, ["ann"])  # the earlier field, as a term
            status, body = await names(filter="tier:gold")
            assert status == 400 and 'unknown tier "gold"' in str(body)
            async with http.get(base + "/members", params={"filter": "stage:lost"}) as page:
                html = await page.text()
                assert page.status == 400 and 'id="filter-error"' in html
                assert "unknown stage &#34;lost&#34;" in html or "unknown stage &quot;lost" in html
            async with http.get(base + "/members", params={"filter": "TAG:VIP"}) as page:
                html = await page.text()
                assert 'value="tag:vip"' in html and "2 members" in html


@asynccontextmanager
async def _dashboard(bot: LocalBot) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """The dashboard on the bot's database, and an HTTP session logged in to it."""
    password = "oolong-at-dawn"
    settings = {
        "storage": {"database_url": bot.app.config.storage.database_url},
        "insight": {
            "dashboard": {
                "enabled": True,
                "admins": [{"username": "mei", "password_hash": hash_password(password)}],
            }
        },
    }
    server = WebServer("127.0.0.1:0")
    mount(
        server.app,
        bot.app.database.engine,
        WarmlineConfig.model_validate(settings),
        bot.app.services.clock,
    )
    await server.start()
    base = f"http://127.0.0.1:{server.port}/dashboard"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(base + "/login") as response:
                token = (await response.text()).split('name="csrf" value="')[1].split('"')[0]
            login = {"username": "mei", "password": password, "csrf": token}
            async with http.post(base + "/login", data=login, allow_redirects=False) as response:
                assert response.status == 302
            yield http, base
    finally:
        await server.stop()


async def test_a_chinese_speaking_admin_reads_errors_and_counts_in_chinese(sqlite_url: str) -> None:
    async with local_bot(config(sqlite_url)) as bot:
        await _members(bot)
        admin = bot.user("admin", "zh")
        await bot.say(admin, "/lang zh")
        bad = (await bot.say(admin, "/segment tier:gold"))[0].text
        assert bad == "「tier:gold」：未知等级「gold」。可用等级：ordinary、active、core。"
        counted = (await bot.say(admin, "/segment tag:vip"))[0].text
        assert counted.startswith("tag:vip\n会员：2，可私信：2")
        unknown = (await bot.say(admin, "/broadcast vips 你好"))[0].text
        assert unknown.startswith("未知分组「vips」。可用分组：all")
