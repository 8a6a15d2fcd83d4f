"""Insight speed: every dashboard page's queries, ``warmline report``, and the
report worker's memory as the report grows — on PostgreSQL (the target) and
SQLite (for reference).

    python bench/insight.py [--members 100000] [--events 2000000] [--pg-url URL] [--no-sqlite]

Targets (PostgreSQL, 100,000 members, 2,000,000 events): each page ≤ 300 ms,
the report ≤ 10 s, peak memory of a report over all members ≈ one over a
tenth of them (rows are streamed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

HERE = Path(__file__).resolve().parent
# this script is called insight.py: keep its folder off the path so ``insight`` is the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from bench.insight_data import Shape, describe, load  # noqa: E402
from bot.config.model import WarmlineConfig  # noqa: E402
from bot.schema import with_feature_tables  # noqa: E402
from insight import pages  # noqa: E402
from insight.queries.activity import refresh_activity  # noqa: E402
from insight.queries.members import (  # noqa: E402
    SearchQuery,
    handoffs,
    member_detail,
    push_log,
    search_members,
)
from insight.queries.push_rollup import refresh_push  # noqa: E402
from insight.window import Window  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.member_loop import catch_up_member_loop  # noqa: E402

END = datetime(2026, 6, 1, tzinfo=UTC)
TARGET_PAGE_MS = 300
TARGET_REPORT_S = 10


def config_for(url: str) -> WarmlineConfig:
    return WarmlineConfig.model_validate(
        {
            "storage": {"database_url": url},
            "flows": {
                "products": {
                    "longjing": {"name": "Longjing", "cycle": "30d"},
                    "oolong": {"name": "Oolong", "cycle": "45d"},
                }
            },
            "insight": {
                "sources": {
                    "douyin_ads": {"cost_per_member": 35},
                    "xiaohongshu": {"spend": 20000, "period": "30d"},
                    "wechat_group": {"cost_per_member": 8},
                }
            },
        }
    )


async def reset(url: str) -> None:
    db = with_feature_tables(Database(url))
    try:
        if db.dialect == "postgresql":
            async with db.engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await db.migrate()
    finally:
        await db.close()


async def time_pages(url: str, window: Window) -> dict[str, float]:
    """Milliseconds per page (median of 3 after a warm-up), as the dashboard runs them."""
    config = config_for(url)
    settings = pages.Settings.of(config)
    db = with_feature_tables(Database(url))
    steps: dict[str, Callable[..., Awaitable[object]]] = {
        "overview": lambda c: pages.overview(c, window, settings, END),
        "sources": lambda c: pages.sources(c, window, settings, config),
        "cohorts": lambda c: pages.cohort_page(c, window, settings),
        "push log": lambda c: _push(c, window, settings),
        "members (search)": lambda c: search_members(c, SearchQuery(text="member 4242")),
        "member (timeline)": lambda c: member_detail(c, 4242),
        "handoffs": lambda c: handoffs(c),
    }
    found = {}
    try:
        async with db.engine.begin() as conn:
            started = time.perf_counter()
            await refresh_activity(conn)
            await refresh_push(conn)
            await catch_up_member_loop(conn)
            found["(rollups: first catch-up, once)"] = (time.perf_counter() - started) * 1000
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT count(*) FROM interactions")
            started = time.perf_counter()
            await conn.exec_driver_sql("SELECT count(*) FROM interactions")
            found["(peer: count(*) of interactions)"] = (time.perf_counter() - started) * 1000
        async with db.engine.connect() as conn:
            for name, step in steps.items():
                await step(conn)
                runs = []
                for _ in range(3):
                    started = time.perf_counter()
                    await step(conn)
                    runs.append((time.perf_counter() - started) * 1000)
                found[name] = statistics.median(runs)
    finally:
        await db.close()
    return found


async def _push(conn: object, window: Window, settings: pages.Settings) -> None:
    await pages.respect(conn, window, settings)  # type: ignore[arg-type]
    await push_log(conn)  # type: ignore[arg-type]


def run_report(url: str, window: Window, out: Path) -> tuple[float, float, int]:
    """Seconds, peak RSS in MB, and members written, measured in a fresh process."""
    child = (
        "import asyncio, json, resource, sys, time\n"
        f"sys.path[:0] = [{str(HERE.parent)!r}]\n"
        "from datetime import datetime\n"
        "from pathlib import Path\n"
        "from insight.report import write_report\n"
        "from insight.window import Window\n"
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('bench_insight', {str(Path(__file__).resolve())!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        f"window = Window(datetime.fromisoformat({window.start.isoformat()!r}), datetime.fromisoformat({window.end.isoformat()!r}))\n"
        f"out = Path({str(out)!r})\n"
        "t = time.perf_counter()\n"
        f"r = asyncio.run(write_report(mod.config_for({url!r}), window, out / 'report.html', out / 'csv', now=mod.END))\n"
        "print(json.dumps({'s': time.perf_counter() - t, 'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'members': r.members}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"report failed:\n{result.stderr}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return float(data["s"]), float(data["rss"]), int(data["members"])


async def bench(url: str, label: str, shape: Shape, reuse: bool = False) -> None:
    print(f"\n== {label} ==")
    if reuse:
        print("reusing the history already loaded by a previous run")
    else:
        await reset(url)
        db = with_feature_tables(Database(url))
        started = time.perf_counter()
        try:
            counts = await load(db.engine, shape)
        finally:
            await db.close()
        print(f"loaded {describe(counts)} in {time.perf_counter() - started:.1f}s")
    window = Window(END - timedelta(days=shape.days), END)
    timings = await time_pages(url, window)
    for name, ms in timings.items():
        if name.startswith("("):
            print(f"  {name:<40} {ms:8.1f} ms")
            continue
        mark = "ok" if ms <= TARGET_PAGE_MS else "SLOW"
        print(f"  page {name:<35} {ms:8.1f} ms   {mark} (target ≤ {TARGET_PAGE_MS} ms)")
    print(f"  load average while timing: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        # the last tenth of the period holds about a tenth of the members … and the whole window
        small = Window(END - timedelta(days=max(1, shape.days // 10)), END)
        s_small, rss_small, m_small = run_report(url, small, Path(tmp) / "small")
        s_full, rss_full, m_full = run_report(url, window, Path(tmp) / "full")
        size = (Path(tmp) / "full" / "report.html").stat().st_size / 1e6
    print(
        f"  report, all {m_full:,} members: {s_full:.1f}s ({'ok' if s_full <= TARGET_REPORT_S else 'SLOW'}, "
        f"target ≤ {TARGET_REPORT_S}s), {size:.1f} MB HTML + CSV, peak RSS {rss_full:.0f} MB"
    )
    print(f"  report, {m_small:,} members: {s_small:.1f}s, peak RSS {rss_small:.0f} MB")
    print(
        f"  memory ratio full ÷ small: {rss_full / rss_small:.2f} for {m_full / max(1, m_small):.1f}× the members"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("WARMLINE_BENCH_PG_URL")
        or os.environ.get(
            "WARMLINE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
        help="an expendable database: its public schema is dropped",
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="PostgreSQL: time the history a previous run loaded"
    )
    args = parser.parse_args()
    shape = Shape(args.members, args.events, args.days, args.seed, END)
    if not args.no_pg:
        asyncio.run(bench(args.pg_url, "PostgreSQL", shape, reuse=args.reuse))
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(bench(f"sqlite+aiosqlite:///{tmp}/bench.db", "SQLite (reference)", shape))


if __name__ == "__main__":
    main()
