"""The push log and a member's timeline tell each message's story once: a deferred
message shows as deferred, then as sent, never also as "dropped (duplicate)" when
its flow step comes back for it; and they show what the message said."""

from __future__ import annotations

from datetime import UTC, datetime

from harness import local_bot, make_config

from bot.clock import ManualClock
from insight.queries.members import member_detail, message_text, push_log
from push.contract import Category, Outcome, PushMessage
from push.gate import Gate
from push.rules import Reason

LATE = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai: quiet hours
KEY = "after_sales.v1:2:o1515:care_tips"
TEXT = "How are you finding your tea? Rinse the leaves once before the first cup."


async def test_deferred_then_sent_shows_twice_with_its_text(sqlite_url: str) -> None:
    clock = ManualClock(LATE)
    async with local_bot(make_config(sqlite_url), clock=clock) as bot:
        gate = bot.app.services.require(Gate)
        await bot.say(bot.user("Bob"), "/start")
        bob = await bot.app.services.members.get("local", "bob")
        assert bob is not None
        message = PushMessage(TEXT, KEY)
        first = await gate.submit(bob, message, Category.AFTER_SALES)
        assert first.outcome is Outcome.DEFERRED and first.until is not None
        clock.set(first.until)
        assert [d.outcome for d in await gate.drain(bob.id)] == [Outcome.SENT]
        # the flow's timer fires for the deferred step: the gate knows the key is delivered
        again = await gate.submit(bob, message, Category.AFTER_SALES)
        assert again.reason == Reason.DUPLICATE
        assert [m.text for m in bot.adapter.sent_to("bob")].count(TEXT) == 1
        await gate.flush_decisions()

        async with bot.app.database.engine.connect() as conn:
            log = await push_log(conn)
            detail = await member_detail(conn, bob.id)
        assert [(e.outcome, e.reason) for e in log] == [("sent", None), ("deferred", "quiet_hours")]
        assert {e.message for e in log} == {TEXT}
        assert detail is not None
        pushes = [e for e in detail.timeline if e.kind.startswith("push")]
        assert [e.outcome for e in pushes] == ["sent", "deferred"]
        assert all(e.summary.startswith(TEXT) and KEY not in e.summary for e in pushes)


def test_decisions_without_text_name_the_flow_step_not_the_key() -> None:
    assert message_text(None, KEY) == "after sales: care tips"
    assert message_text("", "v1") == "v1"
    assert message_text("Line one\nline two", KEY) == "Line one…"
