"""The gate end to end on the local adapter: opt-out, quiet hours, arbitration, kill switch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from harness import LocalBot, local_bot, make_config

from bot.clock import ManualClock
from bot.errors import RecipientUnreachable
from bot.events import OutgoingMessage, SentMessage
from push.backends import RedisBackend
from push.contract import Category, Outcome, PushGate, PushMessage
from push.gate import Gate
from push.store import PendingStore
from storage.records import MemberRecord
from storage.redis import connect_redis

#: 15:00 UTC = 23:00 in Asia/Shanghai, inside the default quiet hours 22:00-08:00
LATE = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
NOON = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def config(url: str, **push: Any) -> Any:
    return make_config(url, push={"caps": {"per_day": 2, "per_week": 6}, **push})


async def member(bot: LocalBot, name: str) -> MemberRecord:
    await bot.say(bot.user(name), "/start")
    record = await bot.app.services.members.get("local", name.lower())
    assert record is not None
    return record


def dms(bot: LocalBot, name: str) -> list[str]:
    return [m.text for m in bot.adapter.sent_to(name.lower())]


async def test_gate_is_registered_under_the_contract(sqlite_url: str) -> None:
    async with local_bot(config(sqlite_url)) as bot:
        assert bot.app.services.require(PushGate) is bot.app.services.require(Gate)


async def test_stop_resume_and_start_control_promotions(sqlite_url: str) -> None:
    clock = ManualClock(NOON)
    async with local_bot(config(sqlite_url), clock=clock) as bot:
        gate = bot.app.services.require(Gate)
        alice = await member(bot, "Alice")
        assert "won't send" in (await bot.say(bot.user("Alice"), "/stop"))[0].text
        alice = await bot.app.services.members.get_by_id(alice.id)  # type: ignore[assignment]
        promo = await gate.submit(alice, PushMessage("Tea tips", "v1"), Category.VALUE)
        assert promo.outcome is Outcome.DROPPED and promo.reason == "opted_out"
        order = await gate.submit(alice, PushMessage("Order shipped", "o1"), Category.TRANSACTIONAL)
        assert order.sent and dms(bot, "Alice")[-1] == "Order shipped"
        await bot.say(bot.user("Alice"), "/resume")
        alice = await bot.app.services.members.get_by_id(alice.id)  # type: ignore[assignment]
        assert (await gate.submit(alice, PushMessage("Tea tips", "v1"), Category.VALUE)).sent
        await bot.say(bot.user("Alice"), "/stop")
        await bot.say(bot.user("Alice"), "/start")
        again = await bot.app.services.members.get_by_id(alice.id)
        assert again is not None and not again.opted_out


async def test_quiet_hours_defer_in_the_members_zone_and_drain_delivers(sqlite_url: str) -> None:
    clock = ManualClock(LATE)
    async with local_bot(config(sqlite_url), clock=clock) as bot:
        gate = bot.app.services.require(Gate)
        bob = await member(bot, "Bob")
        decision = await gate.submit(bob, PushMessage("Good morning tea", "m1"), Category.VALUE)
        assert decision.outcome is Outcome.DEFERRED and decision.reason == "quiet_hours"
        assert decision.until == datetime(2026, 1, 6, 0, 0, tzinfo=UTC)  # 08:00 Shanghai
        bea = await member(bot, "Bea")
        london = await bot.app.services.members.update(bea.id, time_zone="Europe/London")
        # 15:00 in London is not quiet: sent at once
        assert (await gate.submit(london, PushMessage("Hello", "m2"), Category.VALUE)).sent
        clock.set(decision.until)
        assert [d.outcome for d in await gate.drain(bob.id)] == [Outcome.SENT]
        assert dms(bot, "Bob")[-1] == "Good morning tea"
        assert await PendingStore(bot.app.database).count() == 0


async def test_one_pass_drains_every_member_whose_messages_are_due(sqlite_url: str) -> None:
    clock = ManualClock(LATE)
    async with local_bot(config(sqlite_url, min_gap="4h"), clock=clock) as bot:
        gate = bot.app.services.require(Gate)
        erin, finn = await member(bot, "Erin"), await member(bot, "Finn")
        for who, key in ((erin, "e1"), (erin, "e2"), (finn, "f1")):
            await gate.submit(who, PushMessage(f"Tip {key}", key), Category.VALUE)
        clock.set(datetime(2026, 1, 6, 0, 0, tzinfo=UTC))  # the quiet hours are over
        decisions = await gate.drain_due()
        # as one drain per member would: Erin's second tip waits for the gap
        assert [(d.outcome, d.reason) for d in decisions] == [
            (Outcome.SENT, None),
            (Outcome.DEFERRED, "min_gap"),
            (Outcome.SENT, None),
        ]
        assert dms(bot, "Erin")[-1] == "Tip e1" and dms(bot, "Finn")[-1] == "Tip f1"
        assert await gate.drain_due() == []  # nothing else is due yet
        assert await PendingStore(bot.app.database).count() == 1


async def test_contested_slot_goes_to_higher_priority(sqlite_url: str) -> None:
    clock = ManualClock(LATE)
    async with local_bot(config(sqlite_url, min_gap="4h"), clock=clock) as bot:
        gate = bot.app.services.require(Gate)
        carol = await member(bot, "Carol")
        morning = datetime(2026, 1, 6, 0, 0, tzinfo=UTC)
        low = await gate.submit(carol, PushMessage("Weekly digest", "low"), Category.VALUE, 0)
        high = await gate.submit(carol, PushMessage("Your tea", "high"), Category.AFTER_SALES, 5)
        short = await gate.submit(
            carol,
            PushMessage("Flash sale", "flash"),
            Category.OFFER,
            1,
            expires_at=morning + timedelta(hours=1),
        )
        assert {d.until for d in (low, high, short)} == {morning}
        clock.set(morning)
        results = await gate.drain(carol.id)
        assert [d.outcome for d in results] == [Outcome.SENT, Outcome.DROPPED, Outcome.DEFERRED]
        assert results[1].reason == "expired"  # next free slot (12:00) is after it expires
        assert results[2].reason == "min_gap"
        assert results[2].until == morning + timedelta(hours=4)
        assert dms(bot, "Carol")[-1] == "Your tea"
        # a fresh lower-priority message waits behind the due digest
        clock.set(morning + timedelta(hours=4))
        fresh = await gate.submit(carol, PushMessage("New arrival", "new"), Category.VALUE, 0)
        assert fresh.outcome is Outcome.DEFERRED and fresh.reason == "queued"
        first, second = await gate.drain(carol.id)
        assert first.sent and dms(bot, "Carol")[-1] == "Weekly digest"
        assert second.reason == "daily_cap"


async def test_kill_switch_for_admins(sqlite_url: str) -> None:
    clock = ManualClock(NOON)
    async with local_bot(config(sqlite_url), clock=clock) as bot:
        gate = bot.app.services.require(Gate)
        dave = await member(bot, "Dave")
        refused = await bot.say(bot.user("Dave"), "/pause")
        assert "only bot admins" in refused[0].text
        assert "Kill switch ON" in (await bot.say(bot.user("admin"), "/pause"))[0].text
        promo = await gate.submit(dave, PushMessage("News", "n1"), Category.VALUE)
        order = await gate.submit(dave, PushMessage("Paid", "t1"), Category.TRANSACTIONAL)
        assert promo.reason == order.reason == "paused"
        assert "Kill switch OFF" in (await bot.say(bot.user("admin"), "/resume_all"))[0].text
        assert [d.outcome for d in await gate.drain(dave.id)] == [Outcome.SENT, Outcome.SENT]
        await gate.flush_decisions()
        recent = await gate.decisions.recent(10, member_id=dave.id)
        assert [(r.message_key, r.outcome, r.reason) for r in reversed(recent)] == [
            ("n1", "deferred", "paused"),
            ("t1", "deferred", "paused"),
            ("n1", "sent", None),
            ("t1", "sent", None),
        ]


async def test_redis_down_defers_promotions_but_not_transactional(sqlite_url: str) -> None:
    clock = ManualClock(NOON)
    async with local_bot(config(sqlite_url), clock=clock) as bot:
        gate = bot.app.services.require(Gate)
        erin = await member(bot, "Erin")
        dead = connect_redis("redis://127.0.0.1:1/0")
        gate.backend = RedisBackend(dead)
        try:
            promo = await gate.submit(erin, PushMessage("News", "n1"), Category.VALUE)
            order = await gate.submit(erin, PushMessage("Paid", "t1"), Category.TRANSACTIONAL)
        finally:
            await dead.aclose()
        assert promo.outcome is Outcome.DEFERRED and promo.reason == "unavailable"
        assert order.sent and dms(bot, "Erin")[-1] == "Paid"
        assert "News" not in dms(bot, "Erin")


async def test_blocked_member_is_marked_unreachable(sqlite_url: str) -> None:
    async with local_bot(config(sqlite_url), clock=ManualClock(NOON)) as bot:
        gate = bot.app.services.require(Gate)
        frank = await member(bot, "Frank")

        async def blocked(message: OutgoingMessage) -> SentMessage:
            raise RecipientUnreachable("403: bot was blocked by the user")

        bot.adapter.send = blocked  # type: ignore[method-assign]
        decision = await gate.submit(frank, PushMessage("News", "n1"), Category.VALUE)
        assert decision.outcome is Outcome.DROPPED and decision.reason == "unreachable"
        frank = await bot.app.services.members.get_by_id(frank.id)  # type: ignore[assignment]
        assert not frank.reachable
        assert frank.id not in await bot.app.services.members.reachable_ids()


async def test_deferred_message_is_delivered_by_the_scheduler(sqlite_url: str) -> None:
    cfg = config(sqlite_url, min_gap="1s", quiet_hours=None)
    async with local_bot(cfg) as bot:
        gate = bot.app.services.require(Gate)
        gina = await member(bot, "Gina")
        assert (await gate.submit(gina, PushMessage("one", "k1"), Category.VALUE)).sent
        later = await gate.submit(gina, PushMessage("two", "k2"), Category.VALUE)
        assert later.outcome is Outcome.DEFERRED and later.reason == "min_gap"
        for _ in range(60):
            if "two" in dms(bot, "Gina"):
                break
            await asyncio.sleep(0.1)
        assert dms(bot, "Gina")[-2:] == ["one", "two"]


async def test_group_posts_are_capped_per_day(sqlite_url: str) -> None:
    async with local_bot(config(sqlite_url, group_per_day=2), clock=ManualClock(NOON)) as bot:
        gate = bot.app.services.require(Gate)
        results = [
            await gate.post_to_group(bot.group, PushMessage(f"post {n}", f"g{n}")) for n in range(3)
        ]
        assert [d.outcome for d in results] == [Outcome.SENT, Outcome.SENT, Outcome.DROPPED]
        assert results[2].reason == "group_cap"
        assert len(bot.adapter.sent_to(bot.group.id)) == 2
