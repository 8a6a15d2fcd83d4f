"""Member commands: /lang, /tz, /mydata, /forgetme (every table and store)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from harness import LocalBot
from moderation_support import (
    community_bot,
    moderation_config,
    now_clock,
    rows_about,
    say_in_group,
)
from sqlalchemy import Table, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.types import TypeDecorator

from bot.events import ChatKind, ChatRef
from storage.models import metadata
from storage.privacy import personal_tables
from storage.records import MemberRecord

REDIS_CONFIG = {"flood": {"messages": 50, "window": "1m"}}


async def test_lang_switches_the_catalog(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url)) as bot:
        li = bot.user("Li")
        assert "Usage: /lang" in (await bot.say(li, "/lang"))[0].text
        assert "Usage: /lang" in (await bot.say(li, "/lang fr"))[0].text
        assert "中文" in (await bot.say(li, "/lang zh"))[0].text
        assert "用法" in (await bot.say(li, "/tz"))[0].text  # chosen language wins
        assert "English" in (await bot.say(li, "/lang EN"))[0].text


async def test_platform_language_then_default(sqlite_url: str) -> None:
    config = moderation_config(sqlite_url)
    config.bot.default_language = "zh"
    async with community_bot(config) as bot:
        assert "Usage" in (await bot.say(bot.user("Ann", lang="en-GB"), "/tz"))[0].text
        assert "用法" in (await bot.say(bot.user("Nobody", lang=""), "/tz"))[0].text


async def test_tz_is_validated(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url)) as bot:
        tara = bot.user("Tara")
        for bad in ("Mars/Olympus", "../../etc/passwd", "UTC", "Asia/上海", "Asia/Shanghai extra"):
            assert "Usage: /tz" in (await bot.say(tara, f"/tz {bad}"))[-1].text, bad
        ok = await bot.say(tara, "/tz Europe/London")
        assert "Europe/London" in ok[0].text
        member = await bot.app.services.members.get("local", "tara")
        assert member is not None and member.time_zone == "Europe/London"


async def test_mydata_sends_a_json_document(sqlite_url: str) -> None:
    async with community_bot(moderation_config(sqlite_url)) as bot:
        mo = bot.user("Mo")
        await bot.say(mo, "/start src-poster")
        await say_in_group(bot, mo, "hello")
        await say_in_group(bot, bot.user("admin"), "/warn off-topic", reply_to=mo)
        before = len(bot.adapter.log)
        await bot.say(mo, "/mydata")
        [action] = [a for a in bot.adapter.log[before:] if a.kind == "document"]
        assert action.document is not None and action.chat.id == "mo"
        document = json.loads(action.document.content)
        tables = document["tables"]
        assert tables["members"][0]["source"] == "poster"
        assert tables["member_warnings"][0]["reason"] == "off-topic"
        assert {"interactions", "moderation_actions"} <= set(tables)


def _filler(table: Table, member: MemberRecord) -> dict[str, Any] | None:
    """Values for a row about ``member`` in any table, from the column types
    (None: the row would need a row of another table first)."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {}
    for column in table.columns:
        targets = {fk.column.table.name for fk in column.foreign_keys}
        if column.name == "member_id" or "members" in targets:
            values[column.name] = member.id
        elif targets:
            return None
        elif column.name == "platform":
            values[column.name] = member.platform
        elif column.name == "user_id":
            values[column.name] = member.user_id
        elif table.autoincrement_column is column:
            continue
        else:
            values[column.name] = _sample(
                _python_type(column.type), now, getattr(column.type, "length", None)
            )
    return values


def _python_type(kind: Any) -> type:
    base = kind.impl if isinstance(kind, TypeDecorator) else kind
    try:
        return base.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return object


def _sample(kind: type, now: datetime, length: int | None) -> Any:
    samples: dict[type, Any] = {datetime: now, bool: False, int: 1, float: 1.0, dict: {}, list: []}
    return samples.get(kind, "sample-text"[: length or 12])


async def _fill_every_personal_table(bot: LocalBot, member: MemberRecord) -> set[str]:
    """A row about the member in each table that has one, including other features'."""
    filled: set[str] = set()
    for personal in personal_tables(metadata):
        values = _filler(personal.table, member)
        if values is None:
            continue
        async with bot.app.database.session() as session:
            try:
                async with session.begin():
                    await session.execute(personal.table.insert().values(values))
                filled.add(personal.table.name)
            except (IntegrityError, DBAPIError):
                continue  # already has one from the scenario, or needs another table's row
    return filled


async def test_forgetme_leaves_no_row_and_no_key_about_the_member(
    database_url: str, redis_client: Any
) -> None:
    config = moderation_config(database_url, **REDIS_CONFIG)
    config.storage.redis_url = _redis_url()
    clock = now_clock()
    async with community_bot(config, clock=clock) as bot:
        fox, admin = bot.user("Fox"), bot.user("admin")
        group = ChatRef("local", "-100", ChatKind.GROUP, "Test Group")
        await bot.say(fox, "/start ref-FRIEND")
        await bot.deliver(bot.adapter.joined(fox, group))
        await say_in_group(bot, fox, "hello everyone")  # a flood key in Redis
        await say_in_group(bot, admin, "/warn be nice", reply_to=fox)
        await say_in_group(bot, fox, "/report", reply_to=admin)  # fox as an actor
        member = await bot.app.services.members.get("local", "fox")
        assert member is not None
        filled = await _fill_every_personal_table(bot, member)
        # this feature's tables and any other feature's that hold member rows
        assert {"member_warnings", "moderation_actions", "captcha_challenges"} <= filled
        await redis_client.set(f"wl:test:m{member.id}:seen", "1")
        await redis_client.rpush(f"wl:push:{{{member.id}}}:log", "sent")  # push gate style
        await redis_client.set("wl:test:unrelated", "1")
        assert await rows_about(bot.app, member)

        [confirm] = await bot.say(fox, "/forgetme")
        yes = confirm.buttons[0][0].data
        assert yes is not None
        [done] = [m for m in await bot.press(fox, yes) if m.text.startswith("Done")]
        assert "moderation log" in done.text
        if "orders" in metadata.tables and "orders" in filled:
            assert "order records" in done.text

        assert await rows_about(bot.app, member) == {}
        keys = {k.decode() for k in await redis_client.keys("wl:*") if not k.startswith(b"wl:upd:")}
        assert keys == {"wl:test:unrelated"}
        # what was kept has no identity left
        async with bot.app.database.session() as session:
            table = metadata.tables["moderation_actions"]
            kept = (await session.execute(select(table))).mappings().all()
        assert kept and all(row["target_user_id"] != "fox" for row in kept)
        assert all(row["actor_user_id"] != "fox" for row in kept)


async def test_forgetme_can_be_cancelled_and_goes_stale(sqlite_url: str) -> None:
    clock = now_clock()
    async with community_bot(moderation_config(sqlite_url), clock=clock) as bot:
        kai = bot.user("Kai")
        [confirm] = await bot.say(kai, "/forgetme")
        yes, no = (b.data for b in confirm.buttons[0])
        assert yes and no
        assert "nothing was deleted" in (await bot.press(kai, no))[0].text
        clock.advance(timedelta(minutes=20))
        await bot.press(kai, yes)
        assert await bot.app.services.members.get("local", "kai") is not None
        toasts = [a.detail["text"] for a in bot.adapter.log if a.kind == "toast"]
        assert "too old" in toasts[-1]


def _redis_url() -> str:
    from services import REDIS_URL

    return REDIS_URL
