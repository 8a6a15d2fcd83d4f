"""What one measured ``/start`` burst cost, and the medians over interleaved rounds.

The wall rate of a burst swings with whatever else the machine runs at that moment, so
each burst also records the CPU it took: the bench process's own (``time.process_time``;
the fake Bot API runs in it too, alike for both contenders) and, when PostgreSQL runs on
this machine, its backends serving the bench's database (read from ``/proc``). The
report's figure is the median over rounds, each round one burst of each contender.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
SAMPLE_EVERY = 0.1  # s; a backend that exits between looks loses at most this much


@dataclass(frozen=True)
class Burst:
    """One measured burst: ``count`` updates answered in ``wall`` seconds."""

    count: int
    wall: float
    cpu: float  # bench process, s
    server_cpu: float | None  # PostgreSQL backends of the bench's database, s

    @property
    def rate(self) -> float:
        return self.count / self.wall

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.count

    @property
    def server_ms(self) -> float | None:
        return None if self.server_cpu is None else 1000 * self.server_cpu / self.count


@dataclass(frozen=True)
class Rounds:
    """Every measured burst of both contenders on one database, round by round."""

    database: str
    warmline: Sequence[Burst]
    peer: Sequence[Burst]

    @property
    def best(self) -> tuple[float, float]:
        return max(b.rate for b in self.warmline), max(b.rate for b in self.peer)

    @property
    def ratios(self) -> list[float]:
        return [w.rate / p.rate for w, p in zip(self.warmline, self.peer, strict=True)]

    def summary(self) -> list[str]:
        """The lines the bench prints under its best-of table for this database."""
        ratios = self.ratios
        w_cpu = statistics.median(b.cpu_ms for b in self.warmline)
        p_cpu = statistics.median(b.cpu_ms for b in self.peer)
        lines = [
            f"{self.database}: ratio per round {' '.join(f'{r:.2f}' for r in ratios)}, "
            f"median {statistics.median(ratios):.2f}",
            f"{self.database}: client CPU ms/update (median) warmline {w_cpu:.2f}, "
            f"peer {p_cpu:.2f}, peer/warmline {p_cpu / w_cpu:.2f}",
        ]
        w_server = [b.server_ms for b in self.warmline if b.server_ms is not None]
        p_server = [b.server_ms for b in self.peer if b.server_ms is not None]
        if w_server and p_server:
            w_s, p_s = statistics.median(w_server), statistics.median(p_server)
            lines.append(
                f"{self.database}: server CPU ms/update (median) warmline {w_s:.2f}, "
                f"peer {p_s:.2f}; client+server peer/warmline {(p_cpu + p_s) / (w_cpu + w_s):.2f}"
            )
        return lines


class BackendCpu:
    """CPU seconds of the local PostgreSQL backends serving one database.

    Backends are recognised by their process title (``postgres: … user database
    host(port) state``); each look keeps every backend's latest figure, so one that
    exits during the burst still counts what it used up to the look before (one
    that lived less than a look is missed)."""

    def __init__(self, database: str) -> None:
        self.needle = f" {database} ".encode()
        self.ours: dict[int, bool] = {}
        self.latest: dict[int, float] = {}

    def look(self) -> None:
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            ours = self.ours.get(pid)
            if ours is None:
                try:
                    title = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                titled = title.startswith(b"postgres: ")
                ours = titled and self.needle in title
                # a backend forked a moment ago still shows the postmaster's command
                # line: decide at a later look, or a pool that reconnects often has
                # most of its backends counted as not ours
                if titled or b"postgres" not in title:
                    self.ours[pid] = ours
            if ours:
                with contextlib.suppress(OSError):
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    self.latest[pid] = (int(fields[11]) + int(fields[12])) / TICK

    def total(self) -> float:
        return sum(self.latest.values())


def local_database(url: str | None) -> str | None:
    """The database name when ``url`` is a PostgreSQL on this machine with ``/proc``."""
    if not url or not url.startswith("postgresql") or not Path("/proc/self/stat").exists():
        return None
    parts = urlsplit(url)
    if parts.hostname not in {"127.0.0.1", "localhost", "::1", None}:
        return None
    return parts.path.lstrip("/") or None


@contextlib.asynccontextmanager
async def measured(database: str | None, count: int) -> AsyncIterator[list[Burst]]:
    """Times the body as one burst of ``count`` updates; the result lands in the list."""
    backends = BackendCpu(database) if database else None
    sampler = None
    if backends is not None:
        backends.look()
        before = dict(backends.latest)
        sampler = asyncio.create_task(_keep_looking(backends))
    out: list[Burst] = []
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        yield out
    finally:
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        server = None
        if sampler is not None and backends is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            backends.look()
            server = sum(t - before.get(pid, 0.0) for pid, t in backends.latest.items())
        out.append(Burst(count, wall, cpu, server))


async def _keep_looking(backends: BackendCpu) -> None:
    while True:
        await asyncio.sleep(SAMPLE_EVERY)
        backends.look()
