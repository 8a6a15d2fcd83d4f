"""Scheduler: persistent jobs across restarts, idempotent runs, one leader by Redis lease."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from harness import local_bot, make_config
from services import fresh_redis
from sqlalchemy import select

from bot.app import App
from bot.scheduling.interface import Scheduler
from bot.scheduling.lease import RedisLease
from bot.scheduling.runner import JobScheduler
from bot.services import Services
from storage.tables import Interaction

TARGET = "test_push_scheduler:tick"


async def tick(services: Services, label: str) -> None:
    """A job target with a durable effect we can count."""
    await services.interactions.record(None, "tick", datetime.now(UTC), detail={"label": label})


async def ticks(app: App, label: str) -> int:
    async with app.database.session() as session:
        rows = await session.execute(select(Interaction.detail).where(Interaction.kind == "tick"))
        return sum(1 for detail in rows.scalars() if detail.get("label") == label)


async def wait_for(predicate, seconds: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.05)):
        if await predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_job_survives_a_restart_and_runs_once(sqlite_url: str) -> None:
    config = make_config(sqlite_url)
    async with local_bot(config) as bot:
        scheduler = bot.app.services.require(Scheduler)  # type: ignore[type-abstract]
        run_at = datetime.now(UTC) + timedelta(seconds=1)
        assert await scheduler.schedule("reminder:42", run_at, TARGET, {"label": "r42"})
        assert not await scheduler.schedule("reminder:42", run_at, TARGET, {"label": "r42"})
    # the bot was down when the job was due; the next start runs it
    await asyncio.sleep(1.2)
    async with local_bot(config) as bot:
        assert await wait_for(lambda: _equals(ticks(bot.app, "r42"), 1))
        await asyncio.sleep(0.3)
        assert await ticks(bot.app, "r42") == 1


async def _equals(count, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(await count == expected)


async def test_a_rerun_of_the_same_fire_time_is_skipped(sqlite_url: str) -> None:
    async with local_bot(make_config(sqlite_url)) as bot:
        scheduler = bot.app.services.require(JobScheduler)
        fire_time = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
        for _ in range(2):
            await scheduler.fire("aftersales:7", fire_time, TARGET, {"label": "a7"})
        await scheduler.fire("aftersales:7", fire_time + timedelta(days=1), TARGET, {"label": "a7"})
        assert await ticks(bot.app, "a7") == 2


async def test_redis_lease_is_taken_over_when_the_holder_dies() -> None:
    redis = await fresh_redis()
    try:
        first, second = RedisLease(redis, ttl=0.6), RedisLease(redis, ttl=0.6)
        assert await first.try_hold() and not await second.try_hold()
        assert await first.try_hold()  # renewal keeps it
        await asyncio.sleep(0.8)  # the holder died: no renewal
        assert await second.try_hold()
        assert not await first.try_hold()  # it finds out it lost the lease
        await second.release()
        assert await first.try_hold()
    finally:
        await redis.flushdb()
        await redis.aclose()


async def test_exactly_one_worker_runs_jobs_and_another_takes_over(sqlite_url: str) -> None:
    redis = await fresh_redis()
    config = make_config(sqlite_url, push={"scheduler": {"enabled": False}})
    try:
        async with local_bot(config) as bot:
            services = bot.app.services
            workers = [
                JobScheduler(services, sqlite_url, RedisLease(redis, ttl=0.9)) for _ in range(2)
            ]
            for worker in workers:
                await worker.start()
            assert await wait_for(lambda: _any_leading(workers))
            await asyncio.sleep(0.5)
            assert sum(w.leading for w in workers) == 1
            leader = next(w for w in workers if w.leading)
            follower = next(w for w in workers if w is not leader)
            now = datetime.now(UTC)
            await follower.schedule(
                "job:one", now + timedelta(seconds=0.3), TARGET, {"label": "one"}
            )
            assert await wait_for(lambda: _equals(ticks(bot.app, "one"), 1))
            assert (leader.runs, follower.runs) == (1, 0)
            await leader.stop(release=False)  # dies without a word
            await follower.schedule("job:two", datetime.now(UTC), TARGET, {"label": "two"})
            assert await wait_for(lambda: _equals(ticks(bot.app, "two"), 1), seconds=6)
            assert follower.runs == 1 and follower.leading
            await follower.stop()
    finally:
        await redis.flushdb()
        await redis.aclose()


async def _any_leading(workers: list[JobScheduler]) -> bool:
    return any(w.leading for w in workers)
