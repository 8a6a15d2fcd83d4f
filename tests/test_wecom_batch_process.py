"""``bot.wecom.batch_pushes`` through separate processes: a real ``warmline run``
worker and the fake WeCom server, on the wall clock (``batch_at`` a few seconds ahead).

Customers whose kf window is closed (they last wrote 49 h ago) get an order
confirmation an admin's ``/order`` (typed to the app) starts: it is deferred with
``platform_window`` and joins the day's mass-send batch, one ``add_msg_template``
per sender carrying each customer once, nothing by kf. The worker is killed -9 once
the tasks exist and before their results were read; restarted, it makes no task
again, reads the results back (``get_groupmsg_send_result``) and records them. A
second batch the same day (``batch_at`` moved) leaves out the customer who already
had her mass message (``platform_cap``) and carries only a new one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fake_wecom_api import KF_WINDOW, FakeWeCom, wait_until
from fault_support import Worker, free_port
from wecom_support import rows, wecom_section, write_worker_config

MASS = "externalcontact/add_msg_template"
RESULTS = "externalcontact/get_groupmsg_send_result"
#: from writing the config to its batch: the worker starts, customers are added and
#: the orders recorded before it (a slower machine fails the check saying so)
LEAD = 18.0
#: the least the same takes after a restart (more if the first start was slow)
LEAD_AFTER_RESTART = 8.0


def write_config(path: Path, fake: FakeWeCom, port: int, db: Path, batch_at: float) -> Path:
    """Batched pushes at ``batch_at`` (a timestamp, as "HH:MM:SS" in UTC, the zone of
    members whose own is unknown); only the features the journey needs (a quicker start)."""
    at = f"{datetime.fromtimestamp(batch_at, UTC):%H:%M:%S}"
    wecom = wecom_section(fake, kf_pull_interval="1s", batch_pushes=True, batch_at=at)
    return write_worker_config(
        path,
        port,
        db,
        wecom,
        knowledge={"enabled": False},
        features=["callbacks", "moderation", "push", "flows", "handlers"],
        flows={"tick": "1s", "products": {"green-tea": {"name": "春季绿茶"}}},
        push={"quiet_hours": None, "timezone": "UTC", "campaigns": {"mass_poll": "1s"}},
    )


async def customers_with_closed_windows(fake: FakeWeCom, db: Path, who: dict[str, str]) -> None:
    """Each customer adds their staff member and last wrote by kf 49 h ago: the bot
    knows the window opened then, so it is closed now."""
    welcomed = len(fake.welcomes)
    for customer, staff in who.items():
        await fake.add_customer(customer, staff=staff)
        await fake.customer_says(customer, "你好", at=fake.now() - KF_WINDOW - 3600)
    await wait_until(lambda: len(fake.welcomes) == welcomed + len(who), timeout=20)
    await wait_until(lambda: set(who) <= {c for (c,) in rows(db, _WINDOWS)}, timeout=20)
    for customer, opened in rows(db, f"{_WINDOWS_AT} in ({_names(who)})"):
        age = time.time() - datetime.fromisoformat(str(opened)).replace(tzinfo=UTC).timestamp()
        assert age > KF_WINDOW, customer


_WINDOWS = "select chat_id from dm_windows where platform='wecom'"
_WINDOWS_AT = "select chat_id, opened_at from dm_windows where platform='wecom' and chat_id"


def _names(customers: Iterable[str]) -> str:
    return ",".join(f"'{c}'" for c in customers)


def kept_tasks(db: Path) -> int:
    """How many mass-send tasks the worker keeps (it keeps each once WeCom made it)."""
    query = "select value from adapter_state where name like 'wecom:mass:%'"
    return sum(len(json.loads(str(value))) for (value,) in rows(db, query))


def batched(db: Path) -> dict[str, list[tuple[str, str | None]]]:
    """Each customer's batched messages: (state, reason), in the order they came."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    query = (
        "select m.user_id, b.state, b.reason from push_batched b"
        " join members m on m.id = b.member_id order by b.updated_at, b.key"
    )
    for user, state, reason in rows(db, query):
        found.setdefault(str(user), []).append((str(state), reason))  # type: ignore[arg-type]
    return found


def decisions(db: Path, customer: str) -> list[list[tuple[object, ...]]]:
    """The gate's logged decisions on each of the customer's messages, in order."""
    query = (
        "select d.message_key, d.outcome, d.reason from push_decisions d"
        f" join members m on m.id = d.member_id where m.user_id = '{customer}' order by d.id"
    )
    by_message: dict[object, list[tuple[object, ...]]] = {}
    for key, outcome, reason in rows(db, query):
        by_message.setdefault(key, []).append((outcome, reason))
    return list(by_message.values())


def tasks_with(fake: FakeWeCom, customer: str) -> list[tuple[str, list[str]]]:
    """(sender, customers) of every mass-send task made with ``customer`` in it."""
    return [
        (str(c.payload["sender"]), list(c.payload["external_userid"]))
        for c in fake.calls_to(MASS)
        if customer in c.payload["external_userid"]
    ]


async def order(fake: FakeWeCom, customer: str, amount: int) -> None:
    """The admin records an order in the app: after-sales thanks the customer."""
    await fake.staff_says("zhang", f"/order {customer} green-tea {amount}")


@pytest.mark.slow
async def test_closed_windows_go_by_the_daily_mass_send_once(
    tmp_path: Path, fake: FakeWeCom
) -> None:
    port, db = free_port(), tmp_path / "wecom.db"
    started = time.time()
    first_batch = started + LEAD
    config = write_config(tmp_path / "config.yaml", fake, port, db, first_batch)
    worker = Worker(config, tmp_path / "worker.log")
    await worker.start()
    startup = time.time() - started
    fake.callback_url = f"http://127.0.0.1:{port}/wecom/callback"
    try:
        # customers of two staff members, all windows closed; orders for two of them
        who = {"wmAlice": "zhang", "wmBob": "li", "wmCarol": "zhang"}
        await customers_with_closed_windows(fake, db, who)
        await order(fake, "wmAlice", 39)
        await order(fake, "wmBob", 39)
        await wait_until(lambda: len(batched(db)) == 2, timeout=15)
        assert time.time() < first_batch, (
            f"too slow: orders after the batch (start {startup:.1f} s)"
        )
        for customer in ("wmAlice", "wmBob"):
            assert batched(db)[customer] == [("queued", None)], customer
            # the gate's log is written in the background
            await wait_until(lambda c=customer: decisions(db, c), timeout=10)
            assert decisions(db, customer) == [[("deferred", "platform_window")]], customer

        # the batch: one task per sender; the worker dies once it keeps both, before any
        # result was recorded (staff have not confirmed yet: there is none to record)
        await wait_until(lambda: kept_tasks(db) == 2, timeout=first_batch - time.time() + 20)
        worker.kill()
        assert tasks_with(fake, "wmAlice") == [("zhang", ["wmAlice"])]
        assert tasks_with(fake, "wmBob") == [("li", ["wmBob"])]
        assert batched(db) == {"wmAlice": [("waiting", "mass")], "wmBob": [("waiting", "mass")]}
        for msgid in list(fake.mass_tasks):  # staff confirm in their clients meanwhile
            fake.confirm_mass(msgid)

        # restarted, with a second batch later the same day
        read_before = len(fake.calls_to(RESULTS))
        second_batch = time.time() + max(LEAD_AFTER_RESTART, 1.2 * startup + 3)
        write_config(config, fake, port, db, second_batch)
        worker = Worker(config, tmp_path / "restarted.log")  # a log of its own: it waits
        await worker.start()  # for "Warmline started" in it
        await order(fake, "wmAlice", 59)  # Alice again, and Carol (zhang's) for the first time
        await order(fake, "wmCarol", 39)
        await wait_until(lambda: len(batched(db).get("wmAlice", [])) == 2, timeout=15)
        await wait_until(lambda: "wmCarol" in batched(db), timeout=15)
        assert time.time() < second_batch, (
            f"too slow: orders after the batch (start {startup:.1f} s)"
        )
        # the first batch's results are read back and recorded, nothing made twice
        await wait_until(lambda: batched(db)["wmBob"] == [("sent", "mass")], timeout=20)
        assert batched(db)["wmAlice"][0] == ("sent", "mass")
        assert len(fake.calls_to(RESULTS)) > read_before
        assert len(fake.calls_to(MASS)) == 2

        # the second batch carries Carol only: Alice had today's mass message
        await wait_until(
            lambda: len(fake.calls_to(MASS)) == 3, timeout=second_batch - time.time() + 20
        )
        await wait_until(lambda: batched(db)["wmAlice"][-1][0] == "dropped", timeout=10)
        assert batched(db)["wmAlice"] == [("sent", "mass"), ("dropped", "platform_cap")]
        await wait_until(lambda: len(decisions(db, "wmAlice")[-1]) == 2, timeout=10)
        first, second = decisions(db, "wmAlice")
        # the first went into a task ("sent" is logged within half a second: the kill
        # may have lost that record, never a message)
        assert first in (
            [("deferred", "platform_window")],
            [("deferred", "platform_window"), ("sent", None)],
        )
        assert second == [("deferred", "platform_window"), ("dropped", "platform_cap")]
        assert tasks_with(fake, "wmCarol") == [("zhang", ["wmCarol"])]
        fake.confirm_mass(list(fake.mass_tasks)[-1])
        await wait_until(lambda: batched(db)["wmCarol"] == [("sent", "mass")], timeout=20)
    finally:
        await worker.stop()

    # each customer was in one task, by their follow-user; nothing went by kf
    assert tasks_with(fake, "wmAlice") == [("zhang", ["wmAlice"])]
    assert tasks_with(fake, "wmBob") == [("li", ["wmBob"])]
    assert len(fake.calls_to(MASS)) == 3
    assert fake.kf_sent == []
    assert all(c.errcode != 95018 for c in fake.calls if c.path == "kf/send_msg")
    for customer, got in fake.mass_received.items():
        assert len(got) == 1, customer
