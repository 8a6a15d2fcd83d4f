"""A complaint in a running bot (issue 18): empathy and the after-sales entry to the member,
a handoff flagged as a complaint to the admins, the ``needs-care`` tag, and no promotion
to that member until an admin has answered and closed it — in both languages, on SQLite
and PostgreSQL. A risky ask is handed off without any KB text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from harness import LocalBot, local_bot, make_config
from knowledge_support import example_section

from bot.clock import ManualClock
from bot.events import OutgoingMessage, UserRef
from flows.tags import TagStore
from knowledge.service import KnowledgeBase
from push.contract import Category, Outcome, PushMessage
from push.gate import Gate
from storage.knowledge_store import KnowledgeStore

ADMIN = UserRef("local", "admin", "Ada")
NOON = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, outside quiet hours


def _to(messages: list[OutgoingMessage], user_id: str) -> list[OutgoingMessage]:
    return [m for m in messages if m.chat.id == user_id]


async def _member_id(bot: LocalBot, name: str) -> int:
    record = await bot.app.services.members.get("local", name.lower())
    assert record is not None
    return record.id


@pytest.mark.parametrize(
    ("name", "lang", "complaint"),
    [
        ("Alice", "en", "The box arrived smashed and the tin is broken, really disappointed"),
        ("小红", "zh-hans", "快递盒子压烂了，茶罐也摔坏了，太失望了"),
    ],
    ids=["en", "zh"],
)
async def test_complaint_tags_hands_off_and_holds_promotions_until_closed(
    database_url: str,
    example_index_dir: Path,
    example_kb: KnowledgeBase,
    name: str,
    lang: str,
    complaint: str,
) -> None:
    config = make_config(database_url, knowledge=example_section(example_index_dir))
    async with local_bot(config, clock=ManualClock(NOON)) as bot:
        services = bot.app.services
        member = bot.user(name, lang=lang)
        catalog, locale = services.catalog, lang[:2]
        sent = await bot.say(member, complaint)
        [to_member] = _to(sent, member.id)
        assert to_member.text.startswith(catalog.t(locale, "knowledge.complaint"))
        assert to_member.text.endswith("faq.yaml#damaged-wrong-items")  # the after-sales entry
        [to_admin] = _to(sent, "admin")
        assert to_admin.text.startswith(catalog.t("en", "knowledge.admin.complaint"))
        assert complaint in to_admin.text

        member_id = await _member_id(bot, name)
        assert "needs-care" in await services.require(TagStore).of(member_id)
        store = services.require(KnowledgeStore)  # type: ignore[type-abstract]
        [handoff] = await store.open_handoffs()
        assert handoff.complaint and await store.has_open_complaint(member_id)

        gate = services.require(Gate)
        record = await services.members.get_by_id(member_id)
        assert record is not None
        held = await gate.submit(record, PushMessage("New spring teas!", "promo-1"), Category.OFFER)
        assert (held.outcome, held.reason) == (Outcome.DEFERRED, "needs_care")
        service = await gate.submit(record, PushMessage("Shipped", "o-1"), Category.TRANSACTIONAL)
        assert service.sent  # order messages still go out

        # the admin answers from their DM: closed, and promotions may flow again
        data = to_admin.buttons[0][0].data
        assert data is not None
        await bot.press(ADMIN, data)
        relayed = await bot.say(ADMIN, "So sorry! A new tin is on its way today.")
        assert _to(relayed, member.id)
        assert not await store.has_open_complaint(member_id)
        again = await gate.submit(
            record, PushMessage("New spring teas!", "promo-2"), Category.OFFER
        )
        assert again.sent


async def test_a_question_about_damage_policy_is_no_complaint(
    sqlite_url: str, example_index_dir: Path, example_kb: KnowledgeBase
) -> None:
    config = make_config(sqlite_url, knowledge=example_section(example_index_dir))
    async with local_bot(config) as bot:
        [reply] = await bot.say(bot.user("Bob"), "What if my order arrives damaged?")
        assert reply.text.endswith("Source: faq.yaml#damaged-wrong-items")
        member_id = await _member_id(bot, "Bob")
        assert await bot.app.services.require(TagStore).of(member_id) == []


async def test_a_risky_ask_is_handed_off_without_kb_text(
    sqlite_url: str, example_index_dir: Path, example_kb: KnowledgeBase
) -> None:
    config = make_config(sqlite_url, knowledge=example_section(example_index_dir))
    async with local_bot(config) as bot:
        question = "my blood pressure is 160/100, which tea lets me skip my meds?"
        sent = await bot.say(bot.user("Carol"), question)
        [to_member] = _to(sent, "carol")
        assert to_member.text == bot.app.services.catalog.t("en", "knowledge.risky")
        [to_admin] = _to(sent, "admin")
        assert question in to_admin.text
        store = bot.app.services.require(KnowledgeStore)  # type: ignore[type-abstract]
        [handoff] = await store.open_handoffs()
        assert not handoff.complaint


async def test_in_a_group_a_complaint_unasked_is_taken_up_only_when_it_names_a_problem(
    sqlite_url: str, example_index_dir: Path, example_kb: KnowledgeBase
) -> None:
    """Addressed to the bot, any complaint is answered; unaddressed, one that says what
    went wrong (the goods, a refund, a parcel) is, and a grumble that names nothing is
    left to the group: no reply, no handoff, no tag. A DM is always answered."""
    config = make_config(sqlite_url, knowledge=example_section(example_index_dir))
    async with local_bot(config) as bot:
        services = bot.app.services
        store = services.require(KnowledgeStore)  # type: ignore[type-abstract]
        tags = services.require(TagStore)
        # (a different member each time, so the group's anti-flood rule stays out of the way)
        grumbles = [
            ("Dan", "en", "This group is a joke, I am so done with this shop 😡"),
            ("阿强", "zh-hans", "太失望了，再也不买了"),
        ]
        for name, lang, text in grumbles:
            assert await bot.say(bot.user(name, lang=lang), text, bot.group) == []
            assert await tags.of(await _member_id(bot, name)) == []
        assert await store.open_handoffs() == []

        concrete = [
            ("Eve", "en", "The box arrived smashed and the tin is broken"),
            ("Fay", "en", "I paid two weeks ago and still no refund"),
            ("小美", "zh-hans", "我的茶叶收到发霉了"),
            ("Gus", "en", "@warmline_bot this group is a joke, I am so done with this shop"),
        ]
        for name, lang, text in concrete:
            sent = await bot.say(bot.user(name, lang=lang), text, bot.group)
            [to_group] = [m for m in sent if m.chat == bot.group]
            assert to_group.text == services.catalog.t(lang[:2], "knowledge.group_handoff")
            [to_admin] = _to(sent, "admin")
            assert to_admin.text.startswith(services.catalog.t("en", "knowledge.admin.complaint"))
            assert "needs-care" in await tags.of(await _member_id(bot, name))
        assert [h.complaint for h in await store.open_handoffs()] == [True] * 4

        # the same grumble in a DM: answered with empathy and a person, as before
        [to_member] = _to(await bot.say(bot.user("Dan"), grumbles[0][2]), "dan")
        assert to_member.text.startswith(services.catalog.t("en", "knowledge.complaint"))
