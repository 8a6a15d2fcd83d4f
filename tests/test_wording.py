"""Wording a person reads (issue 16, section 5): product names in the member's
language, /order's SKU check and "received", plurals, /lang's languages, until
when a message is deferred, /modlog and /stats in words, /help per chat, a new
greeting after /forgetme, money with its currency, handoff matches best first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from flows_support import journey
from harness import local_bot, make_config
from insight_history import END, WINDOW, build_history
from moderation_support import community_bot, moderation_config, say_in_group
from pydantic import ValidationError
from sqlalchemy import insert

from bot.clock import ManualClock
from bot.config.model import WarmlineConfig
from bot.i18n import LOCALES, Catalog
from bot.schema import with_feature_tables
from bot.web import WebServer
from flows.config import FlowsConfig, flows_config
from insight.dashboard.app import mount
from insight.passwords import hash_password
from insight.report import write_report
from knowledge.handlers.qa import by_score
from storage.database import Database
from storage.models import metadata

#: fixtures: journey_url (a copy of a database migrated once per session)
pytest_plugins = ("flows_fixtures",)

TEA = {"green": {"name": {"en": "Spring green tea", "zh": "春季绿茶"}, "cycle": "20d"}}


# -- product names and /order -------------------------------------------------
async def test_products_are_named_in_the_members_language(journey_url: str) -> None:
    async with journey(journey_url, products=TEA) as j:
        admin = j.bot.user("admin")
        await j.bot.say(j.bot.user("小明", lang="zh-hans"), "/start")
        await j.bot.say(j.bot.user("Alice"), "/start")
        await j.bot.say(admin, "/order 小明 green 30")
        await j.bot.say(admin, "/order alice green 30")
        await j.advance(timedelta(days=3), step=timedelta(hours=6))
        to_ming = [s.message.text for s in j.to("小明")]
        to_alice = [s.message.text for s in j.to("alice")]
        assert any("我们已收到你的春季绿茶订单" in text for text in to_ming)
        assert any("春季绿茶" in text and "密封" in text for text in to_ming)  # the care note
        assert not any("Spring green tea" in text for text in to_ming)
        thanks = [text for text in to_alice if "Thank you for your order" in text]
        assert thanks and "received your order for Spring green tea" in thanks[0]
        assert not any("on its way" in text for text in to_alice + to_ming)


async def test_order_refuses_an_unknown_sku(journey_url: str) -> None:
    async with journey(journey_url, products=TEA) as j:
        admin = j.bot.user("admin")
        await j.bot.say(j.bot.user("Bea"), "/start")
        [refused] = await j.bot.say(admin, "/order bea oolong 12")
        assert refused.text == (
            'There is no product "oolong". Known products: green (Spring green tea).'
        )
        assert not [s for s in j.to("bea") if "Thank you for your order" in s.message.text]
        # the refused one recorded nothing: the next order is the first
        done = await j.bot.say(admin, "/order bea green 12")
        assert "Order #1 recorded for bea: Spring green tea (green), CN¥12.00" in done[-1].text


async def test_order_without_any_product_says_where_to_add_them(journey_url: str) -> None:
    async with journey(journey_url) as j:
        await j.bot.say(j.bot.user("Cy"), "/start")
        [refused] = await j.bot.say(j.bot.user("admin"), "/order cy tea 5")
        assert 'no product "tea"' in refused.text and "flows.products" in refused.text


def test_product_names_are_checked_in_the_config() -> None:
    def products(name: object) -> FlowsConfig:
        data = {"flows": {"products": {"t": {"name": name}}}}
        return flows_config(WarmlineConfig.model_validate(data))

    assert products({"en": "Tea", "zh": "茶"}).products["t"].name_in("zh") == "茶"
    assert products({"zh": "茶"}).products["t"].name_in("en") == "茶"  # the one given
    assert products("Tea").products["t"].name_in("zh") == "Tea"
    with pytest.raises(ValidationError, match="per language"):
        products({"fr": "Thé"})
    with pytest.raises(ValidationError, match="needs a"):
        products({"en": " "})


# -- plurals --------------------------------------------------------------------
#: an English count followed by a noun that has a singular
_COUNTED = re.compile(
    r"\{\w+\} (members|points|entries|minutes|hours|days|messages|questions|chunks|orders)\b"
)


def test_every_english_count_has_its_singular() -> None:
    """Any text that puts a number before a plural noun must have a ``one`` form."""
    catalog = Catalog()
    plain = [
        key
        for key in catalog.keys("en")
        if _COUNTED.search(catalog.t("en", key, **_sample(catalog, key)))
    ]
    assert plain == []


def _sample(catalog: Catalog, key: str) -> dict[str, object]:
    values: dict[str, object] = {name: "{" + name + "}" for name in catalog.fields("en", key)}
    values["count"] = 1
    if "confidence" in values:
        values["confidence"] = 0.5
    return {k: v for k, v in values.items() if ":" not in k}


def test_plural_forms_are_chosen_by_count() -> None:
    catalog = Catalog()
    assert catalog.t("en", "journey.points", count=1) == "You have 1 point."
    assert catalog.t("en", "journey.points", count=0) == "You have 0 points."
    assert catalog.t("en", "journey.points", count=2) == "You have 2 points."
    assert catalog.t("zh", "journey.points", count=1) == "你现在有 1 积分。"
    one = catalog.t("en", "insight.login_link", count=1, minutes=1, url="u")
    assert one.startswith("Your dashboard login link (works once, for 1 minute)")
    with pytest.raises(KeyError, match="count"):
        catalog.t("en", "journey.points")


def test_a_plural_text_must_have_every_form_its_language_needs(tmp_path: Path) -> None:
    for lang in ("en", "zh"):
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "core.yaml").write_text(
            (LOCALES / lang / "core.yaml").read_text(encoding="utf-8"), encoding="utf-8"
        )
    (tmp_path / "en" / "extra.yaml").write_text('x:\n  other: "{count} cups"\n')
    (tmp_path / "zh" / "extra.yaml").write_text('x:\n  other: "{count} 杯"\n')
    with pytest.raises(ValueError, match=r"en: x needs the plural forms \['one', 'other'\]"):
        Catalog(tmp_path)
    (tmp_path / "en" / "extra.yaml").write_text('x:\n  one: "a cup"\n  other: "{count} cups"\n')
    assert Catalog(tmp_path).t("en", "x", count=1) == "a cup"


# -- /lang, /help, /forgetme ------------------------------------------------------
async def test_lang_names_the_languages_it_speaks(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url)) as bot:
        [reply] = await bot.say(bot.user("Li"), "/lang fr")
        assert reply.text.startswith('I can\'t speak "fr" yet.')
        assert "en (English), zh (中文)" in reply.text
        [zh] = await bot.say(bot.user("Wu", lang="zh"), "/lang fr")
        assert "我还不会说「fr」" in zh.text and "zh (中文)" in zh.text


def _commands(text: str) -> list[str]:
    return [line.split(" ")[0] for line in text.splitlines() if line.startswith("/")]


async def test_help_lists_what_works_in_that_chat(sqlite_url: str) -> None:
    async with local_bot(make_config(sqlite_url, knowledge={"sources": []})) as bot:
        member, admin = bot.user("Mo"), bot.user("admin")
        [in_group] = await bot.say(member, "/help", bot.group)
        assert _commands(in_group.text) == ["/rules", "/report", "/help"]
        [admin_group] = await bot.say(admin, "/help", bot.group)
        listed = _commands(admin_group.text)
        assert "/order" in listed and "/rules" in listed
        private_only = {"/start", "/lang", "/mydata", "/stats", "/modlog", "/broadcast", "/stop"}
        assert not private_only & set(listed)
        [in_dm] = await bot.say(member, "/help")
        main, _, groups = in_dm.text.partition("In a group")
        assert "/lang" in _commands(main) and "/rules" not in _commands(main)
        assert _commands(groups) == ["/rules", "/report"]
        [admin_dm] = await bot.say(admin, "/help")
        assert "/broadcast" in _commands(admin_dm.text.partition("In a group")[0])


async def test_after_forgetme_a_returning_member_is_greeted_as_new(database_url: str) -> None:
    config = make_config(database_url, knowledge={"sources": []})
    async with local_bot(config, clock=ManualClock(datetime.now(UTC))) as bot:
        fox = bot.user("Fox")
        assert "welcome!" in (await bot.say(fox, "/start"))[0].text
        await bot.say(fox, "hello", bot.group)
        [confirm] = await bot.say(fox, "/forgetme")
        assert confirm.buttons[0][0].data is not None
        await bot.press(fox, confirm.buttons[0][0].data)
        await bot.say(fox, "I'm back", bot.group)  # seen again before starting the bot
        [again] = await bot.say(fox, "/start")
        assert "welcome!" in again.text and "Welcome back" not in again.text
        assert "Welcome back" in (await bot.say(fox, "/start"))[0].text


# -- /modlog, /stats ----------------------------------------------------------------
async def test_stats_says_until_when_messages_wait(sqlite_url: str) -> None:
    async with local_bot(make_config(sqlite_url, knowledge={"sources": []})) as bot:
        await bot.say(bot.user("Ann"), "/start")
        now = datetime.now(UTC)
        until = datetime(now.year + 1, 1, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
        rows = [
            {
                "at": now,
                "member_id": 1,
                "message_key": f"k{n}",
                "category": "value",
                "priority": 0,
                "outcome": "deferred",
                "reason": "min_gap",
                "until": until - timedelta(hours=n),
            }
            for n in range(3)
        ]
        async with bot.app.database.session() as session, session.begin():
            await session.execute(insert(metadata.tables["push_decisions"]), rows)
        [stats] = await bot.say(bot.user("admin"), "/stats")
        assert "  deferred (minimum gap; the last waits until 01-02 10:00): 3 / 3" in stats.text, (
            stats.text
        )


# -- money ----------------------------------------------------------------------------
async def test_chat_amounts_carry_the_shop_currency(journey_url: str) -> None:
    async with journey(journey_url, products=TEA) as j:
        await j.bot.say(j.bot.user("Dan"), "/start")
        j.bot.app.config.shop.currency = "USD"
        done = await j.bot.say(j.bot.user("admin"), "/order dan green 1234.5")
        assert "$1,234.50" in done[-1].text


def test_the_currency_must_be_an_iso_code() -> None:
    assert WarmlineConfig().shop.currency == "CNY"
    assert WarmlineConfig.model_validate({"shop": {"currency": "eur"}}).shop.currency == "EUR"
    with pytest.raises(ValidationError, match="ISO 4217"):
        WarmlineConfig.model_validate({"shop": {"currency": "RMB"}})


def _insight_config(url: str, currency: str, **insight: object) -> WarmlineConfig:
    return WarmlineConfig.model_validate(
        {
            "storage": {"database_url": url},
            "shop": {"currency": currency},
            "flows": {"products": {"tea": {"name": "Tea", "cycle": "30d"}}},
            "insight": {"sources": {"ads": {"cost_per_member": 10}}, **insight},
        }
    )


async def test_report_and_dashboard_show_the_currency(sqlite_url: str, tmp_path: Path) -> None:
    db = with_feature_tables(Database(sqlite_url))
    await db.migrate()
    await build_history(db.engine)
    waits = {
        "at": END - timedelta(hours=1),
        "member_id": 1,
        "message_key": "value-gap",
        "category": "value",
        "priority": 0,
        "outcome": "deferred",
        "reason": "min_gap",
        "until": datetime(2026, 5, 5, 2, 30, tzinfo=UTC),
    }
    async with db.engine.begin() as conn:
        await conn.execute(insert(metadata.tables["push_decisions"]), [waits])
    try:
        out = tmp_path / "report.html"
        await write_report(_insight_config(sqlite_url, "CNY"), WINDOW, out, now=END)
        html = out.read_text(encoding="utf-8")
        assert "CN¥10.00" in html  # the ads source's CAC
        await write_report(_insight_config(sqlite_url, "EUR"), WINDOW, out, now=END)
        assert "€10.00" in out.read_text(encoding="utf-8")

        password = "oolong-at-dawn"
        dashboard = {
            "enabled": True,
            "admins": [{"username": "mei", "password_hash": hash_password(password)}],
        }
        server = WebServer("127.0.0.1:0")
        config = _insight_config(sqlite_url, "CNY", dashboard=dashboard)
        mount(server.app, db.engine, config, ManualClock(END))
        await server.start()
        base = f"http://127.0.0.1:{server.port}/dashboard"
        period = f"from={WINDOW.start:%Y-%m-%d}&to=2026-05-04"
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                async with http.get(base + "/login") as response:
                    token = (await response.text()).split('name="csrf" value="')[1].split('"')[0]
                login = {"username": "mei", "password": password, "csrf": token}
                async with http.post(base + "/login", data=login) as response:
                    assert response.status == 200
                async with http.get(f"{base}/sources?{period}") as response:
                    sources = await response.text()
                async with http.get(base + "/members/1") as response:
                    member = await response.text()
                async with http.get(base + "/push") as response:
                    push_log = await response.text()
        finally:
            await server.stop()
        assert "CN¥10.00" in sources and "amount (CNY)" in sources
        assert re.search(r"CN¥[\d,]+\.\d\d", member), member
        # a deferred message says until when, in the push log and the member's timeline
        assert "deferred until 2026-05-05 02:30" in push_log
        assert "(min_gap), until 2026-05-05 02:30 UTC" in member
    finally:
        await db.close()


# -- handoffs ---------------------------------------------------------------------------
def test_handoff_matches_are_listed_best_first() -> None:
    found = [
        {"source": "a.md", "confidence": 0.41},
        {"source": "b.md", "confidence": 0.62},
        {"source": "c.md", "confidence": 0.55},
    ]
    assert [c["source"] for c in by_score(found)] == ["b.md", "c.md", "a.md"]


async def test_group_moderation_log_copy_names_the_group(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url, log_chat="-999")) as bot:
        pat = bot.user("Pat")
        await say_in_group(bot, pat, "hi")
        before = len(bot.adapter.log)
        await say_in_group(bot, bot.user("admin"), "/mute 1h", reply_to=pat)
        [copy] = [
            a.message.text
            for a in bot.adapter.log[before:]
            if a.kind == "send" and a.message and a.chat.id == "-999"
        ]
        assert "in Test Group" in copy and copy.endswith("Reason: no reason given")
