"""Redis that loses its keys between two broadcasts: no member goes above the cap.

The gate's counters and message keys live in Redis; the database is the record of
what was sent. A flushed (or restarted, unpersisted) Redis is refilled from it
before the next push is admitted.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fault_support import OwnRedis
from harness import LocalBot, local_bot, make_config
from redis.asyncio import Redis

from push.campaigns import Campaigns
from push.store import CampaignStore

AUDIENCE = 40


def broadcasts_received(bot: LocalBot, texts: set[str]) -> Counter[str]:
    return Counter(
        a.chat.id
        for a in bot.adapter.log
        if a.kind == "send" and a.message is not None and a.message.text in texts
    )


async def broadcast(bot: LocalBot, text: str) -> Counter[tuple[str, str | None]]:
    """Run a broadcast to everybody; how it went, as (state, reason) counts."""
    campaigns = bot.app.services.require(Campaigns)
    preview = await campaigns.draft("all", text)
    await campaigns.confirm(preview.campaign_id)
    campaigns.launch(preview.campaign_id)
    final = await campaigns.wait(preview.campaign_id)
    assert final.finished
    return Counter(await CampaignStore(bot.app.database).tally(preview.campaign_id))


async def test_redis_flushed_between_two_broadcasts_keeps_every_member_within_cap(
    tmp_path: Path,
) -> None:
    redis = OwnRedis(tmp_path / "redis")
    await redis.start()
    config = make_config(
        f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
        storage={"redis_url": redis.url},
        push={
            "quiet_hours": None,
            "min_gap": 0,
            "caps": {"per_day": None, "per_week": None},
            "categories": {"broadcast": {"per_day": 1}},
            "progress_every": 0.05,
            "pacing": {"per_second": 500, "per_chat_per_second": 100},
        },
    )
    client = Redis.from_url(redis.url)
    try:
        async with local_bot(config) as bot:
            for n in range(AUDIENCE):
                await bot.say(bot.user(f"m{n:02d}"), "/start")
            await broadcast(bot, "First harvest")
            first = broadcasts_received(bot, {"First harvest"})
            assert len(first) == AUDIENCE and set(first.values()) == {1}
            await client.flushall()  # Redis lost everything it knew
            second = await broadcast(bot, "Second harvest")
            both = broadcasts_received(bot, {"First harvest", "Second harvest"})
            over = {chat: n for chat, n in both.items() if n > 1}
            assert not over, f"{len(over)} members above the cap of 1 broadcast a day"
            # decided on the rebuilt counts (not just refused for want of Redis state)
            assert second == Counter({("deferred", "category_daily_cap"): AUDIENCE}), second
    finally:
        await client.aclose()
        redis.stop()
