"""Shared helpers of the push benches: synthetic members, an App on Redis."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from storage.records import MemberRecord

REDIS_URL = os.environ.get("WARMLINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def members(count: int, start: int = 1) -> list[MemberRecord]:
    now = datetime.now(UTC)
    return [
        MemberRecord(
            id=n,
            platform="local",
            user_id=str(n),
            display_name=f"m{n}",
            username=None,
            language="en",
            time_zone=None,
            source=None,
            referrer_code=None,
            joined_at=now,
            last_seen_at=now,
            started_bot=True,
            opted_out=False,
            reachable=True,
        )
        for n in range(start, start + count)
    ]
