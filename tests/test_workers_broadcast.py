"""Three ``warmline run`` workers (webhook mode, loopback) on one PostgreSQL and one
Redis: broadcasts share the platform's rate and caps, and survive ``kill -9``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import fake_bot_api
import pytest
from fake_bot_api import FakeBotAPI
from services import fresh_redis, reset_postgres
from telegram_support import keyboard
from workers_support import (
    ADMIN,
    Workers,
    campaign_statuses,
    outbox_members,
    peak_per_second,
    seed_members,
)

#: low enough that two workers could each send this fast on their own: the combined
#: rate only stays under it when the workers share one pace
RATE = 8
PUSH = {
    "caps": {"per_day": 1, "per_week": 7},
    "min_gap": "0",
    "quiet_hours": None,
    "pacing": {"per_second": 40},
    "campaigns": {"lease_ttl": "3s"},
}
fake_api = fake_bot_api.fake_api
#: separate interpreters start slowly on a busy machine; the checks themselves take seconds
pytestmark = pytest.mark.timeout(600)
ADMIN_USER = {"id": ADMIN, "is_bot": False, "first_name": "Boss", "language_code": "en"}


async def drafted(workers: Workers, n: int, text: str) -> str:
    """``/broadcast all <text>`` on worker ``n``; the signed data of its confirm button."""
    before = len(workers.api.calls)
    update = workers.api.updates.command(ADMIN_USER, "broadcast", f"all {text}")
    assert await workers.post(n, update) == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for call in workers.api.calls[before:]:
            if call.method == "sendMessage" and keyboard(call) and text in call.params["text"]:
                return keyboard(call)[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no broadcast preview")


#: a campaign in one of these states will send nothing more
FINISHED = {"done", "cancelled"}


async def until_done(campaigns: int, timeout: float) -> dict[str, str]:
    """Wait until ``campaigns`` campaigns exist and every one of them is finished.

    A webhook's 200 only means the update is in the durable inbox: the confirm may
    still be unhandled, its campaign a ``draft``, so "not running" is not "finished"."""
    deadline = time.monotonic() + timeout
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        statuses = await campaign_statuses()
        if len(statuses) >= campaigns and all(s in FINISHED for s in statuses.values()):
            return statuses
        await asyncio.sleep(0.25)
    raise AssertionError(f"campaigns not finished in {timeout}s: {statuses}")


async def test_two_broadcasts_on_two_workers_share_cap_and_rate(
    tmp_path: Path, fake_api: FakeBotAPI
) -> None:
    await reset_postgres()
    redis = await fresh_redis()
    await redis.aclose()
    push = {**PUSH, "pacing": {"per_second": RATE}}
    async with Workers(tmp_path, fake_api, 3, push=push) as workers:
        members = await seed_members(160)
        confirm_a = await drafted(workers, 0, "Spring harvest A")
        confirm_b = await drafted(workers, 1, "Autumn tasting B")
        # both confirmed at the same moment, each on its own worker
        statuses = await asyncio.gather(
            workers.post(0, fake_api.updates.callback(ADMIN_USER, confirm_a)),
            workers.post(1, fake_api.updates.callback(ADMIN_USER, confirm_b)),
        )
        assert statuses == [200, 200]
        finished = await until_done(2, timeout=60)
        assert set(finished.values()) == {"done"}, finished
        got_a, got_b = workers.received("Spring harvest A"), workers.received("Autumn tasting B")
        over_cap = [m for m in members if got_a.get(m, 0) + got_b.get(m, 0) > 1]
        unreached = [m for m in members if got_a.get(m, 0) + got_b.get(m, 0) == 0]
        assert not over_cap, f"{len(over_cap)} members over the daily cap of 1"
        assert not unreached, f"{len(unreached)} members reached by neither broadcast"
        times = workers.send_times("Spring harvest A", "Autumn tasting B")
        span = times[-1] - times[0]
        mean = (len(times) - 1) / span
        peak = peak_per_second(times)
        print(f"{len(times)} sends in {span:.2f}s: {mean:.1f}/s, peak {peak} in 1 s (cap {RATE})")
        per_second: dict[int, int] = {}
        for at in times:
            per_second[int(at - times[0])] = per_second.get(int(at - times[0]), 0) + 1
        print("sends per second:", [per_second.get(n, 0) for n in range(int(span) + 1)])
        assert mean <= RATE * 1.02, f"combined rate {mean:.1f}/s above {RATE}/s"
        # Admissions are capped in Redis (RATE in any sliding second); the times here are
        # when the fake platform, in this test's process, saw each request. A send leaves
        # after its slot by the database claim and the HTTP client's latency, and when the
        # loaded machine stalls this process for a second its clock sees two seconds'
        # sends at once (measured: "0, 16" at cap 8 beside the other tests). Over five
        # seconds that evens out to within a second's worth on each side (a worker's stall
        # and this process's; measured on a quiet CI run: "7, 1, 14", 49 sends in 5 s);
        # pacing per worker instead of per bot would be three times the cap (120 in 5 s).
        five_seconds = peak_per_second(times, window=5.0)
        assert five_seconds <= 7 * RATE, f"{five_seconds} sends in 5 s (cap {RATE}/s)"


async def test_kill_9_of_the_sending_worker_loses_and_doubles_nobody(
    tmp_path: Path, fake_api: FakeBotAPI
) -> None:
    await reset_postgres()
    redis = await fresh_redis()
    await redis.aclose()
    async with Workers(tmp_path, fake_api, 3, push=PUSH) as workers:
        members = await seed_members(300)
        confirm = await drafted(workers, 0, "Harvest news")
        assert await workers.post(0, fake_api.updates.callback(ADMIN_USER, confirm)) == 200
        deadline = time.monotonic() + 30
        while len(workers.received("Harvest news")) < 90:
            assert time.monotonic() < deadline, "the broadcast did not start"
            await asyncio.sleep(0.02)
        workers.kill(0)
        killed_at = time.monotonic()
        sent_by_dead = len(workers.received("Harvest news"))
        # a supervisor restarts it at once: it must not take over a campaign that a
        # live worker is sending, nor send it a second time
        restart = asyncio.create_task(workers.start(0))
        # another worker takes over within seconds of the lease running out
        deadline = time.monotonic() + 30
        while len(workers.received("Harvest news")) <= sent_by_dead + 2:
            assert time.monotonic() < deadline, "nobody took the broadcast over"
            await asyncio.sleep(0.05)
        took_over = time.monotonic() - killed_at
        await restart
        statuses = await until_done(1, timeout=120)
        [campaign_id] = statuses
        got = workers.received("Harvest news")
        doubled = [m for m, n in got.items() if n > 1]
        by_state = await outbox_members(campaign_id)
        states = {state: len(ids) for state, ids in by_state.items()}
        lost = [m for m in members if m not in got]
        print(
            f"killed after {sent_by_dead} sends; taken over in {took_over:.1f}s; {states}; "
            f"lost {len(lost)} (all of them in flight at the kill), doubled {len(doubled)}"
        )
        assert not doubled, f"{len(doubled)} members got it twice"
        # counted as sent only when the platform answered: every "sent" row was received
        assert all(m in got for m in by_state.get("sent", [])), "counted as sent, never sent"
        assert set(by_state) <= {"sent", "unconfirmed"}
        # the only members who can miss it are those whose request was in flight when
        # the worker died (at most the fan-out's concurrency); the rest all got it
        assert set(lost) <= set(by_state.get("unconfirmed", []))
        assert len(by_state.get("unconfirmed", [])) <= 32
        assert took_over < 3 * 4 / 3 + 5, f"taken over only after {took_over:.1f}s"


async def _slow_client(port: int, stop: asyncio.Event) -> None:
    """A request head sent one byte a second, until the server hangs up."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    try:
        for byte in b"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200:
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                if not await asyncio.wait_for(reader.read(1), timeout=1.0):
                    return  # closed on us
            except TimeoutError:
                pass
            if stop.is_set():
                return
    except OSError:
        return
    finally:
        writer.close()


async def test_slow_clients_cannot_starve_webhook_delivery(
    tmp_path: Path, fake_api: FakeBotAPI
) -> None:
    await reset_postgres()
    redis = await fresh_redis()  # the update ids of this fake API start at 1 again
    await redis.aclose()
    http = {"header_timeout": "2s", "max_connections": 64}
    async with Workers(tmp_path, fake_api, 1, bot={"http": http}) as workers:
        stop = asyncio.Event()
        slow = [asyncio.create_task(_slow_client(workers.ports[0], stop)) for _ in range(300)]
        await asyncio.sleep(1.0)
        latencies = []
        users = [
            {"id": 700_000 + n, "is_bot": False, "first_name": f"u{n}", "language_code": "en"}
            for n in range(20)
        ]
        for user in users:
            start = time.monotonic()
            assert await workers.post(0, fake_api.updates.command(user, "help"), timeout=5) == 200
            latencies.append(time.monotonic() - start)
            await asyncio.sleep(0.1)
        deadline = time.monotonic() + 30
        answered: set[int] = set()
        while len(answered) < len(users) and time.monotonic() < deadline:
            answered = {int(c.params["chat_id"]) for c in fake_api.calls_to("sendMessage")}
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*slow)
        status, _ = await workers.get(0, "/healthz")
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"webhook p95 {p95 * 1000:.0f} ms with 300 slow clients against a cap of 64")
    assert answered >= {u["id"] for u in users}
    assert p95 < 1.0 and status == 200
