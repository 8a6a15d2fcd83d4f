"""Lateness bounds and catch-up: config, eligibility re-checked on retry, the gate's
waiting line after downtime, ``--outage`` parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flows_support import journey
from harness import local_bot, make_config
from pydantic import ValidationError
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.clock import ManualClock
from bot.errors import ConfigError
from flows.config import flows_config
from push.config import push_config
from push.contract import Category, Outcome, PushMessage
from push.gate import Gate
from push.store import PendingStore
from simulate.outage import parse_outage

OFFER = "jy:soft_offer:offer:"
#: fixtures: journey_url (a copy of a database migrated once per session)
pytest_plugins = ("flows_fixtures",)


def test_lateness_keys_merge_with_the_defaults_and_take_durations() -> None:
    config = make_config(
        "sqlite+aiosqlite:///:memory:",
        flows={"lateness": {"message": "90m", "repurchase": 0}},
        push={"lateness": {"broadcast": "2h"}},
    )
    assert flows_config(config).bound("message") == timedelta(minutes=90)
    assert flows_config(config).bound("repurchase") == timedelta(0)  # 0: no bound
    assert flows_config(config).bound("offer") == timedelta(hours=12)  # default kept
    assert flows_config(config).bound("my_custom_action") == timedelta(days=1)  # "default"
    assert push_config(config).lateness["broadcast"] == timedelta(hours=2)
    assert push_config(config).lateness["value"] == timedelta(days=1)
    with pytest.raises(ValidationError, match="action names"):
        make_config("sqlite://", flows={"lateness": {"Care Tips": "1d"}})
    with pytest.raises(ValidationError, match="unknown category promo"):
        make_config("sqlite://", push={"lateness": {"promo": "1d"}})
    with pytest.raises(ValidationError, match="duration"):
        make_config("sqlite://", flows={"lateness": {"message": "soon"}})


async def test_a_lateness_key_naming_no_action_fails_at_start(sqlite_url: str) -> None:
    config = make_config(sqlite_url, flows={"lateness": {"care_tip": "1d"}})
    with pytest.raises(ConfigError, match=r"flows\.lateness\.care_tip: no flow action"):
        async with local_bot(config):
            pass


async def test_a_deferred_offer_is_not_sent_once_the_member_is_no_longer_eligible(
    journey_url: str,
) -> None:
    """The gate held the offer (kill switch); meanwhile the member complained. When
    the step runs again its guard is checked again: no offer, and nothing of it
    waits in the gate's line to be drained regardless."""
    async with journey(
        journey_url,
        offer={"min_trust": 5, "min_days": 0, "value_per_offer": 0, "cooldown": "1d"},
        content={"cadence": "1d"},
    ) as j:
        gate = j.bot.app.services.require(Gate)
        ada = j.bot.user("Ada")
        await j.bot.say(ada, "/start")
        member = await j.bot.app.services.members.get("local", "ada")
        assert member is not None
        await j.engine.journeys.bump({(member.id, "questions"): 3}, j.clock.now())  # trust 18
        await gate.pause("test")
        await j.advance(timedelta(days=1, hours=2), step=timedelta(hours=1))
        state = await j.engine.journeys.get(member.id)
        assert state is not None and state.pending and state.pending["kind"] == "offer"
        assert await PendingStore(j.bot.app.database).count() == 0  # flows do not park
        await j.engine.journeys.bump({(member.id, "complaints"): 3}, j.clock.now())
        await gate.resume("test")
        await j.advance(timedelta(days=2), step=timedelta(hours=1))
        assert not j.with_button("ada", OFFER)
        state = await j.engine.journeys.get(member.id)
        assert state is not None and state.offers_sent == 0


#: 23:00 in Shanghai: quiet hours, so a broadcast waits for 08:00
LATE = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


async def test_a_waiting_message_whose_turn_passed_long_ago_is_dropped_stale(
    sqlite_url: str,
) -> None:
    clock = ManualClock(LATE)
    config = make_config(sqlite_url, push={"scheduler": {"enabled": False}})
    async with local_bot(config, clock=clock) as bot:
        gate = bot.app.services.require(Gate)
        await bot.say(bot.user("Bob"), "/start")
        bob = await bot.app.services.members.get("local", "bob")
        assert bob is not None
        sale = PushMessage("Today only: 20% off", "sale-1")
        deferred = await gate.submit(bob, sale, Category.BROADCAST)
        assert deferred.outcome is Outcome.DEFERRED and deferred.until is not None
        clock.set(deferred.until + timedelta(days=2))  # the bot was down meanwhile
        [dropped] = await gate.drain(bob.id)
        assert dropped.outcome is Outcome.DROPPED and dropped.reason == "stale"
        assert "Today only: 20% off" not in [m.text for m in bot.adapter.sent_to("bob")]
        assert await PendingStore(bot.app.database).count() == 0
        await gate.flush_decisions()
        rows = await gate.decisions.recent(10, member_id=bob.id)
        assert any(r.message_key == "sale-1" and r.reason == "stale" for r in rows)


async def test_a_waiting_message_a_little_late_still_goes_out(sqlite_url: str) -> None:
    clock = ManualClock(LATE)
    config = make_config(sqlite_url, push={"scheduler": {"enabled": False}})
    async with local_bot(config, clock=clock) as bot:
        gate = bot.app.services.require(Gate)
        await bot.say(bot.user("Cy"), "/start")
        cy = await bot.app.services.members.get("local", "cy")
        assert cy is not None
        deferred = await gate.submit(cy, PushMessage("New harvest", "n-1"), Category.BROADCAST)
        assert deferred.until is not None
        clock.set(deferred.until + timedelta(hours=5))
        assert [d.outcome for d in await gate.drain(cy.id)] == [Outcome.SENT]


def test_outage_specs() -> None:
    assert parse_outage("30:48h", 90) == (30, timedelta(hours=48))
    assert parse_outage("61:6h", 90) == (61, timedelta(hours=6))
    assert parse_outage("0:90m", 1) == (0, timedelta(minutes=90))
    for spec, problem in (
        ("30", "DAY:DURATION"),
        ("x:1h", "DAY:DURATION"),
        ("30:soon", "duration"),
        ("30:0", "more than 0"),
        ("90:1h", "past the simulated 90 days"),
    ):
        with pytest.raises(ValueError, match=problem):
            parse_outage(spec, 90)


async def test_the_waiting_lines_backlog_goes_out_at_the_catch_up_pace(sqlite_url: str) -> None:
    clock = ManualClock(LATE)
    push = {"scheduler": {"enabled": False}, "catch_up": {"per_minute": 2, "late_after": "10m"}}
    async with local_bot(make_config(sqlite_url, push=push), clock=clock) as bot:
        gate = bot.app.services.require(Gate)
        names = [f"P{i}" for i in range(5)]
        until = None
        for name in names:
            await bot.say(bot.user(name), "/start")
            record = await bot.app.services.members.get("local", name.lower())
            assert record is not None
            deferred = await gate.submit(
                record, PushMessage("Autumn oolong", "autumn"), Category.BROADCAST
            )
            until = deferred.until
        assert until is not None
        clock.set(until + timedelta(hours=6))  # back after a night down: late, not stale
        released = []
        for _ in range(3):
            released.append(len([d for d in await gate.drain_due() if d.sent]))
            clock.advance(timedelta(minutes=1))
        assert released == [2, 2, 1]
        assert await PendingStore(bot.app.database).count() == 0


def test_simulate_refuses_a_bad_outage_and_reports_the_new_fields(tmp_path: Path) -> None:
    runner = CliRunner()
    config = tmp_path / "config.yaml"
    config.write_text("knowledge:\n  enabled: false\n")
    bad = runner.invoke(cli, ["simulate", "-c", str(config), "--days", "3", "--outage", "2"])
    assert bad.exit_code == 2 and "DAY:DURATION" in bad.output
    out = tmp_path / "sim.json"
    args = ["simulate", "-c", str(config), "--members", "40", "--days", "6", "--json", str(out)]
    done = runner.invoke(cli, [*args, "--outage", "2:30h", "--outage", "4:90m"])
    assert done.exit_code == 0, done.output
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["stale_sends"] == 0
    assert result["max_sends_per_minute_after_outage"] > 0
