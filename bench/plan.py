"""Planning a 100,000-member campaign against caps on Redis (pipelined Lua), target <= 2 s.

A third of the members already had pushes this week (so some are capped or
inside the gap); the plan decides for every member what ``submit`` would do
now, reserving nothing: audience preview of ``/broadcast`` and the CLI.

    python bench/plan.py [--members 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(str(Path(__file__).resolve().parent))

from push_common import REDIS_URL, members

from bot.config.model import WarmlineConfig
from push.contract import Category, PushMessage
from push.gate import Gate


async def main(count: int) -> None:
    from bot.app import App

    with tempfile.TemporaryDirectory() as tmp:
        config = WarmlineConfig.model_validate(
            {
                "storage": {
                    "database_url": f"sqlite+aiosqlite:///{tmp}/bench.db",
                    "redis_url": REDIS_URL,
                },
                "push": {
                    "caps": {"per_day": 2, "per_week": 6},
                    "min_gap": "4h",
                    "quiet_hours": None,
                },
            }
        )
        app = App(config)
        redis = app.redis
        assert redis is not None
        await redis.flushdb()
        gate = app.services.require(Gate)
        people = members(count)
        history = people[::3]
        sem = asyncio.Semaphore(200)

        async def earlier(n: int) -> None:
            async with sem:
                await gate.check(history[n], PushMessage("tip", "earlier"), Category.VALUE)

        await asyncio.gather(*(earlier(n) for n in range(len(history))))
        started = time.perf_counter()
        tally: Counter[tuple[str, str | None]] = await gate.plan(
            people, "campaign:bench", Category.BROADCAST
        )
        elapsed = time.perf_counter() - started
        await redis.flushdb()
        await app.stop()
    print(f"planned {sum(tally.values()):,} members in {elapsed:.2f} s (target <= 2 s)")
    for (outcome, reason), n in tally.most_common():
        print(f"  {outcome:9} {reason or '':12} {n:8,}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().members))
