"""``bot.wecom.batch_pushes``: a proactive message the kf window refuses joins the day's
mass-send task instead of waiting for the customer to write; the customer's mass-send
limit is a cap of its own (``platform_cap``). Through the App and the fake WeCom server,
on a manual clock (the scheduler's jobs are called as it would call them)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from fake_wecom_api import FakeWeCom, wait_until
from fault_support import free_port
from pydantic import ValidationError
from sqlalchemy import select
from wecom_support import wecom_section

from bot.adapters.wecom.config import WeComConfig, clock_time
from bot.app import App
from bot.clock import ManualClock
from bot.config.model import WarmlineConfig
from bot.scheduling.runner import JobScheduler
from flows.engine import FlowEngine
from push import mass
from push.batch import WindowBatch, follow_batch, run_batch, task_name
from push.batch_store import mass_counts
from push.campaigns import Campaigns
from push.contract import Category, PushMessage
from push.gate import Gate
from storage.flow_tables import FlowTimer
from storage.push_tables import BatchedPush, PushDecision
from storage.records import MemberRecord
from storage.windows import WindowLedger

CARE = "小叮嘱"  # in the care tip (zh)


def settings(
    fake: FakeWeCom, db: Path, port: int, batch: bool, batch_at: str, scheduler: bool
) -> WarmlineConfig:
    return WarmlineConfig.model_validate(
        {
            "bot": {
                "platform": "wecom",
                "admins": ["zhang"],
                "default_language": "zh",
                "wecom": wecom_section(
                    fake, kf_pull_interval="1s", batch_pushes=batch, batch_at=batch_at
                ),
            },
            "http": {"listen": f"127.0.0.1:{port}"},
            "storage": {"database_url": f"sqlite+aiosqlite:///{db}"},
            "knowledge": {"enabled": False},
            "push": {
                "quiet_hours": None,
                "timezone": "UTC",
                "scheduler": {"enabled": scheduler},
                "campaigns": {"mass_poll": "1s"},
                "pacing": {"per_second": 200, "per_chat_per_second": 100},
            },
        }
    )


@asynccontextmanager
async def wecom_app(
    tmp_path: Path, batch: bool, scheduler: bool = False
) -> AsyncIterator[tuple[App, FakeWeCom]]:
    """The App on a manual clock; without ``scheduler`` the tests call its jobs."""
    fake = FakeWeCom()
    await fake.start()
    port = free_port()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # the day's batch comes 6 h after the care tip is due (two days and 5 minutes on)
    batch_at = f"{now + timedelta(days=2, minutes=5, hours=6):%H:%M}"
    config = settings(fake, tmp_path / "w.db", port, batch, batch_at, scheduler)
    app = App(config, clock=ManualClock(now))
    await app.start()
    fake.callback_url = f"http://127.0.0.1:{port}/wecom/callback"
    try:
        yield app, fake
    finally:
        await app.stop()
        await fake.stop()


async def customer_who_ordered(app: App, fake: FakeWeCom, customer: str) -> MemberRecord:
    """Added through a contact way, wrote once by kf (its window opens), then ordered:
    after-sales plans the care tip two days later."""
    fake.contact_ways.setdefault("cfg1", {"state": "src-xiaohongshu", "user": ["zhang"]})
    await fake.add_customer(customer, config_id="cfg1")
    await fake.customer_says(customer, "你好")
    ledger = app.services.require(WindowLedger)
    for _ in range(150):
        if await ledger.state("wecom", customer) is not None:
            break
        await asyncio.sleep(0.1)
    assert await ledger.state("wecom", customer) is not None, "the kf message never arrived"
    member = await app.services.members.get("wecom", customer)
    assert member is not None
    engine = app.services.require(FlowEngine)
    await engine.place_order(member, "oolong", 39.9, app.services.clock.now(), "test")
    return member


async def two_days_later(app: App) -> datetime:
    """The care tip is due; the kf window (48 h after the customer wrote) is closed."""
    clock = app.services.clock
    assert isinstance(clock, ManualClock)
    now = clock.advance(timedelta(days=2, minutes=5))
    await app.services.require(FlowEngine).tick(now)
    await app.services.require(Gate).flush_decisions()
    return now


async def decisions(app: App, member: MemberRecord) -> list[tuple[str, str | None, str]]:
    await app.services.require(Gate).flush_decisions()
    d = PushDecision.__table__.c
    query = select(d.outcome, d.reason, d.text).where(d.member_id == member.id).order_by(d.id)
    async with app.database.session() as session:
        return [(o, r, t or "") for o, r, t in (await session.execute(query)).all()]


async def batched(app: App) -> list[tuple[str, str, str | None]]:
    b = BatchedPush.__table__.c
    async with app.database.session() as session:
        rows = await session.execute(select(b.key, b.state, b.reason).order_by(b.key))
        return [(k, s, r) for k, s, r in rows.all()]


async def care_step_fired(app: App) -> bool:
    query = select(FlowTimer.fired).where(FlowTimer.step == "care_tips")
    async with app.database.session() as session:
        return bool((await session.execute(query)).scalar_one())


async def test_a_closed_window_sends_the_care_tip_by_the_daily_mass_send(tmp_path: Path) -> None:
    async with wecom_app(tmp_path, batch=True) as (app, fake):
        alice = await customer_who_ordered(app, fake, "wmAlice")
        kf_before = len(fake.kf_sent)
        now = await two_days_later(app)
        care = [d for d in await decisions(app, alice) if CARE in d[2]]
        assert [d[:2] for d in care] == [("deferred", "platform_window")]
        # another proactive message for her the same day (a feature's scheduled push)
        gate = app.services.require(Gate)
        second = await gate.submit(alice, PushMessage("新茶试饮", "promo:1"), Category.OFFER, -1)
        assert (second.outcome.value, second.reason) == ("deferred", "platform_window")
        batch = app.services.require(WindowBatch)
        at = batch.next_at(alice, now)
        assert second.until == at and at - now == timedelta(hours=6)

        # the batch time: one task for her follow-user with the care tip; the second
        # message is over her one-a-day mass allowance before any task is made
        clock = app.services.clock
        assert isinstance(clock, ManualClock)
        clock.set(at)
        await run_batch(app.services)
        [task] = fake.mass_tasks.values()
        assert task.sender == "zhang" and task.customers == ["wmAlice"]
        assert CARE in task.text
        states = {key.split(":")[0]: (s, r) for key, s, r in await batched(app)}
        assert states.pop("after_sales.v1") == ("waiting", "mass")
        assert states.pop("promo") == ("dropped", "platform_cap")
        # a value tip of hers may be due too (buttons left out): it is not sent either
        assert all(state == "dropped" for state, _ in states.values())

        # staff confirm it in their client; the read-back records it sent
        fake.confirm_mass(task.msgid)
        clock.advance(timedelta(minutes=1))
        await follow_batch(app.services)
        assert [(s, r) for _, s, r in await batched(app) if s != "dropped"] == [("sent", "mass")]
        # the flow offers its step again: it went out, so it is done (not queued again)
        assert await care_step_fired(app) is False
        await app.services.require(FlowEngine).tick(clock.advance(timedelta(hours=1)))
        assert await care_step_fired(app) is True
        log = await decisions(app, alice)
        assert [d[:2] for d in log if CARE in d[2]] == [
            ("deferred", "platform_window"),
            ("sent", None),
        ]
        assert [d[:2] for d in log if d[2] == "新茶试饮"] == [
            ("deferred", "platform_window"),
            ("dropped", "platform_cap"),
        ]
        assert len(fake.mass_tasks) == 1
        assert len(fake.kf_sent) == kf_before  # nothing by kf outside the window
        assert all(c.errcode != 95018 for c in fake.calls if c.path == "kf/send_msg")
        day = [t for t in fake.mass_received["wmAlice"] if fake.now() - t < 86400]
        assert len(day) == 1
        # an admin's /stats shows both gate reasons
        await app.services.require(Gate).flush_decisions()
        told = len(fake.staff_messages)
        await fake.staff_says("zhang", "/stats")
        await wait_until(lambda: len(fake.staff_messages) > told, 15)
        stats = fake.staff_messages[-1]["text"]["content"]
        assert "平台自身的上限" in stats and "平台当前不允许发送" in stats  # platform_cap, _window
        # a broadcast later that day counts her batched mass message too
        counted = await mass_counts(app.database, [alice.id], timedelta(days=1), clock.now())
        assert counted[alice.id] == 1


async def test_without_batch_pushes_it_waits_for_the_window(tmp_path: Path) -> None:
    async with wecom_app(tmp_path, batch=False) as (app, fake):
        alice = await customer_who_ordered(app, fake, "wmAlice")
        await two_days_later(app)
        care = [d for d in await decisions(app, alice) if CARE in d[2]]
        assert [d[:2] for d in care] == [("deferred", "platform_window")]
        assert app.services.find(WindowBatch) is None
        assert await batched(app) == []
        assert not fake.mass_tasks


async def test_the_batch_and_its_read_back_are_scheduler_jobs(tmp_path: Path) -> None:
    """Queued, the batch is a stored job at its time; run as the scheduler runs it,
    it makes the task and schedules reading it back."""
    async with wecom_app(tmp_path, batch=True, scheduler=True) as (app, fake):
        alice = await customer_who_ordered(app, fake, "wmAlice")
        now = await two_days_later(app)
        at = app.services.require(WindowBatch).next_at(alice, now)
        key = f"push:batch:{int(at.timestamp())}"
        assert key in jobs(tmp_path)
        clock = app.services.clock
        assert isinstance(clock, ManualClock)
        clock.set(at)
        scheduler = app.services.require(JobScheduler)
        await scheduler.fire(key, at, "push.batch:run_batch", {})
        [task] = fake.mass_tasks.values()
        assert CARE in task.text
        follow = f"push:batch-follow:{int(at.timestamp())}"
        assert follow in jobs(tmp_path)
        fake.confirm_mass(task.msgid)
        await scheduler.fire(follow, at, "push.batch:follow_batch", {})
        assert [(s, r) for _, s, r in await batched(app) if s != "dropped"] == [("sent", "mass")]
        # nothing waits any more: no further read-back is scheduled
        assert [k for k in jobs(tmp_path) if k.startswith("push:batch-follow:")] == [follow]


def jobs(tmp_path: Path) -> set[str]:
    with sqlite3.connect(tmp_path / "w.jobs.db") as conn:
        return {row[0] for row in conn.execute("select id from scheduler_jobs")}


async def test_a_mass_send_the_platform_refuses_is_dropped_not_retried(tmp_path: Path) -> None:
    async with wecom_app(tmp_path, batch=True) as (app, fake):
        alice = await customer_who_ordered(app, fake, "wmAlice")
        now = await two_days_later(app)
        clock = app.services.clock
        assert isinstance(clock, ManualClock)
        clock.set(app.services.require(WindowBatch).next_at(alice, now))
        fake.fail_next("externalcontact/add_msg_template", 41048)
        await run_batch(app.services)
        assert not fake.mass_tasks
        care = [key for key, _, _ in await batched(app) if key.endswith("care_tips")]
        assert [(s, r) for k, s, r in await batched(app) if k in care] == [("dropped", "failed")]
        log = [d[:2] for d in await decisions(app, alice) if CARE in d[2]]
        # the gate let it into the task ("sent", as for a broadcast); the task failed
        assert log == [("deferred", "platform_window"), ("sent", None), ("dropped", "failed")]
        await run_batch(app.services)  # nothing is tried again
        assert not fake.mass_tasks


def test_batch_at_may_name_the_second() -> None:
    """ "HH:MM" or "HH:MM:SS"; two batches within one minute are two tasks."""
    assert clock_time(WeComConfig().batch_at) == time(20, 0)
    assert clock_time(WeComConfig(batch_at="07:05:30").batch_at) == time(7, 5, 30)
    for bad in ("20", "20:0", "24:00", "20:00:60", "2000", "20:00:00:00", "-1:00", "20:5a"):
        with pytest.raises(ValidationError, match="HH:MM"):
            WeComConfig(batch_at=bad)
    at = datetime(2026, 12, 3, 20, 0, 5, tzinfo=UTC)
    assert task_name(at, "新茶") == task_name(at, "新茶")
    assert task_name(at, "新茶") != task_name(at + timedelta(seconds=30), "新茶")


async def test_a_broadcast_decided_page_by_page_is_one_task_per_sender(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audience is decided a page of the outbox at a time; the task is made once,
    for all of it (before, every page after the first was left out of any task)."""
    monkeypatch.setattr(mass, "PAGE", 2)
    async with wecom_app(tmp_path, batch=False) as (app, fake):
        for customer in ("wmA", "wmB", "wmC"):
            await fake.add_customer(customer, staff="zhang")
        await fake.add_customer("wmD", staff="li")
        await wait_until(lambda: len(fake.welcomes) == 4, 15)
        campaigns = app.services.require(Campaigns)
        preview = await campaigns.draft("all", "新茶到了", created_by="zhang")
        assert preview.audience == 4
        run = asyncio.create_task(campaigns.run(preview.campaign_id))
        await wait_until(lambda: len(fake.mass_tasks) == 2, 15)
        made = sorted((t.sender, tuple(t.customers)) for t in fake.mass_tasks.values())
        assert made == [("li", ("wmD",)), ("zhang", ("wmA", "wmB", "wmC"))]
        for task in list(fake.mass_tasks.values()):
            fake.confirm_mass(task.msgid)
        progress = await asyncio.wait_for(run, 15)
        assert dict(progress.tally) == {("sent", "mass"): 4}
        assert len(fake.mass_tasks) == 2
