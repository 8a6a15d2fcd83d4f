"""Gate checks per second on Redis (one process, 50 concurrent tasks) vs raw INCR.

Each check is the gate's full decision for one promotional message: opt-out,
expiry and quiet hours in Python, then the atomic Lua decision (kill switch,
key, waiting line, four rolling caps, gap) that reserves the slot, and the
decision record (buffered; flushed to the database in batches off this path).
The peer is ``INCR`` from the same client and the same 50 tasks, in the same run.

    python bench/gate.py [--checks 20000] [--tasks 50]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(str(Path(__file__).resolve().parent))

from push_common import REDIS_URL, members

from bot.config.model import WarmlineConfig
from push.contract import Category, PushMessage
from push.gate import Gate


async def run_tasks(tasks: int, total: int, one: object) -> float:
    per_task = total // tasks

    async def worker(offset: int) -> None:
        for n in range(offset, offset + per_task):
            await one(n)  # type: ignore[operator]

    started = time.perf_counter()
    await asyncio.gather(*(worker(t * per_task) for t in range(tasks)))
    return per_task * tasks / (time.perf_counter() - started)


async def main(checks: int, tasks: int) -> None:
    from bot.app import App

    with tempfile.TemporaryDirectory() as tmp:
        config = WarmlineConfig.model_validate(
            {
                "storage": {
                    "database_url": f"sqlite+aiosqlite:///{tmp}/bench.db",
                    "redis_url": REDIS_URL,
                },
                "push": {"quiet_hours": "22:00-08:00", "timezone": "Pacific/Kiritimati"},
            }
        )
        app = App(config)
        redis = app.redis
        assert redis is not None
        await redis.flushdb()
        gate = app.services.require(Gate)
        people = members(checks)
        ask_key = "bench:gate"

        async def check(n: int) -> None:
            await gate.check(people[n], PushMessage("hi", ask_key), Category.VALUE)

        async def incr(n: int) -> None:
            await redis.incr("bench:incr")

        await run_tasks(tasks, 2000, incr)  # warm up connections and the script cache
        await redis.flushdb()
        incr_rate = await run_tasks(tasks, checks, incr)
        gate_rate = await run_tasks(tasks, checks, check)
        await redis.flushdb()
        await app.stop()
    print(f"raw Redis INCR   : {incr_rate:10,.0f} /s  ({tasks} tasks, {checks:,} ops)")
    print(f"gate checks      : {gate_rate:10,.0f} /s  ({tasks} tasks, {checks:,} members)")
    print(f"ratio gate/INCR  : {gate_rate / incr_rate:10.2f}   (target >= 0.80)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=20_000)
    parser.add_argument("--tasks", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.checks, args.tasks))
