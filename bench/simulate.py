"""How fast `warmline simulate` runs: the target is 10,000 members × 90 days in ≤ 60 s.

    python bench/simulate.py [--members 10000] [--days 90] [--seed 7] [--repeat 2]
                             [--gate-backend memory] [--keep-db] [--outage 30:48h --outage 61:6h]

Prints the best wall time of ``--repeat`` runs, simulated member-days per second, the
ratio to the 60 s budget, whether every repeat gave the same result (same seed, same
JSON), the invariants, and, as a peer measured in the same process, a run 10× smaller
(to show how the cost scales and to give a ratio that does not depend on the machine's
load). With ``--outage``, the same full run without outages is timed too, in the same
process, and the ratio printed (the outage machinery must not cost the time target). The
target is for the CLI command, which adds ~1 s of start-up and its progress bar:

    warmline simulate -c config.example.yaml --members 10000 --days 90 --seed 7
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import simulate.world  # noqa: F401  (imported before the clock starts: runs are timed alone)
from bot.config import load_config
from simulate.cli import INVARIANTS, run_simulation
from simulate.outage import parse_outage

BUDGET_SECONDS = 60.0


def timed(
    config_path: str,
    members: int,
    days: int,
    seed: int,
    backend: str,
    outages: Sequence[tuple[int, timedelta]] = (),
    keep: bool = False,
) -> tuple[float, dict[str, Any]]:
    """One run; ``keep`` keeps the history in a new SQLite file, as ``--keep-db`` does."""
    config = load_config(config_path)
    with tempfile.TemporaryDirectory(prefix="warmline-bench-") as tmp:
        keep_db = Path(tmp) / "kept.db" if keep else None
        started = time.perf_counter()
        result = asyncio.run(
            run_simulation(
                config, members, days, seed, backend, quiet=True, keep_db=keep_db, outages=outages
            )
        )
        return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", default="config.example.yaml")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=2, help="full runs; the best one counts")
    parser.add_argument("--gate-backend", default="memory", choices=("memory", "sql"))
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="keep the history in a file (the simulate -> report recipe); also times one "
        "throw-away run of the same size as its peer",
    )
    parser.add_argument("--outage", action="append", default=[], help="DAY:DURATION")
    args = parser.parse_args()
    outages = [parse_outage(spec, args.days) for spec in args.outage]

    peer_members = max(1, args.members // 10)
    peer_s, _ = timed(args.config, peer_members, args.days, args.seed, args.gate_backend, outages)
    runs = [
        timed(
            args.config,
            args.members,
            args.days,
            args.seed,
            args.gate_backend,
            outages,
            args.keep_db,
        )
        for _ in range(max(1, args.repeat))
    ]
    thrown_s = None
    if args.keep_db:
        thrown_s, _ = timed(
            args.config, args.members, args.days, args.seed, args.gate_backend, outages
        )
    full_s, result = min(runs, key=lambda run: run[0])
    same = len({json.dumps(r, sort_keys=True) for _, r in runs}) == 1
    member_days = result["members"] * args.days
    print(
        f"simulate {args.members} members × {args.days} days, seed {args.seed} "
        f"({args.gate_backend} gate counters)"
    )
    print(
        f"  wall time            {full_s:8.1f} s   best of {len(runs)} "
        f"({', '.join(f'{s:.1f}' for s, _ in runs)}); budget {BUDGET_SECONDS:.0f} s: "
        f"{full_s / BUDGET_SECONDS:.2f}× the budget"
    )
    print(f"  member-days / s      {member_days / full_s:8.0f}")
    print(
        f"  proactive messages   {result['messages_proactive']:8d}   "
        f"({result['messages_proactive'] / full_s:.0f}/s through the real gate)"
    )
    print(
        f"  peer: {peer_members} members  {peer_s:8.1f} s   (full / peer = {full_s / peer_s:.1f}×)"
    )
    if thrown_s is not None:
        print(
            f"  history kept in a file: {full_s:.1f} s vs {thrown_s:.1f} s thrown away "
            f"({full_s / thrown_s:.2f}×)"
        )
    print(f"  same seed, same JSON {'yes' if same else 'NO'}")
    print(f"  invariants           { {k: result[k] for k in INVARIANTS} }")
    if outages:
        plain_s, _ = timed(args.config, args.members, args.days, args.seed, args.gate_backend)
        print(
            f"  outages {', '.join(args.outage)}: max sends/minute after an outage "
            f"{result['max_sends_per_minute_after_outage']}; the same run without outages "
            f"{plain_s:.1f} s (with / without = {full_s / plain_s:.2f}×)"
        )


if __name__ == "__main__":
    main()
