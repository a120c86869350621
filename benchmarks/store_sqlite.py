"""SQLite store vs memory store: sustained firings per second, and the cost of add().

Run from the repository root::

    .venv/bin/python benchmarks/store_sqlite.py            # about 20 s
    .venv/bin/python benchmarks/store_sqlite.py --quick    # about 5 s

Prints a markdown table. Firings: N ``Every`` jobs at a short interval run through a real
``Scheduler`` (system clock) for a few seconds; every firing is claimed from the store, run,
and released to it (for SQLite: written to the file before and after the run). ``add()``:
10,000 ``await scheduler.add(...)`` calls, each its own committed write for SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aioscheduler import Every, Scheduler
from aioscheduler.events import RunFinished
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing.conformance import conformance_job as noop

#: The secret of the "sqlite+key" rows (signed payloads and sealed schedule state).
KEY = "benchmark-secret-key-of-32-chars"


def make(kind: str, tmp: Path, name: str) -> Scheduler:
    if kind == "memory":
        return Scheduler()
    key = KEY if kind == "sqlite+key" else None
    return Scheduler(store=SQLiteStore(tmp / f"{name}.db", history_limit=3, secret_key=key))


async def firings_per_second(
    kind: str, tmp: Path, jobs: int, interval: float, seconds: float
) -> float:
    scheduler = make(kind, tmp, f"fire-{jobs}")
    count = 0

    def seen(event: RunFinished) -> None:
        nonlocal count
        count += 1

    for i in range(jobs):
        await scheduler.add(noop, Every(seconds=interval), id=f"j{i}", executor="async")
    scheduler.subscribe(seen, RunFinished)
    async with scheduler:
        await asyncio.sleep(interval)  # warm-up: the first round of firings
        start, base = time.perf_counter(), count
        await asyncio.sleep(seconds)
        rate = (count - base) / (time.perf_counter() - start)
    await scheduler.store.close()
    return rate


async def add_cost_us(kind: str, tmp: Path, n: int) -> float:
    scheduler = make(kind, tmp, f"add-{n}")
    trigger = Every(hours=1)
    start = time.perf_counter()
    for i in range(n):
        await scheduler.add(noop, trigger, id=f"j{i}", executor="async")
    elapsed = time.perf_counter() - start
    await scheduler.store.close()
    return elapsed / n * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--jobs", type=int, help="Every jobs in the firing run (default 1000)")
    args = parser.parse_args()
    jobs, interval, seconds, adds = (
        (200, 0.1, 1.5, 2_000) if args.quick else (1_000, 0.1, 4.0, 10_000)
    )
    if args.jobs:
        jobs = args.jobs
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        rows = {}
        for kind in ("memory", "sqlite", "sqlite+key"):
            rows[kind] = (
                await firings_per_second(kind, tmp, jobs, interval, seconds),
                await add_cost_us(kind, tmp, adds),
            )
    offered = jobs / interval
    print(
        f"\n{jobs} Every({interval}s) jobs (offered {offered:,.0f} firings/s) for {seconds} s; "
        f"{adds:,} add() calls\n"
    )
    print("| store | firings/s sustained | add() µs each |")
    print("|---|---:|---:|")
    for kind, (rate, cost) in rows.items():
        print(f"| {kind} | {rate:,.0f} | {cost:,.1f} |")
    mem, sql, key = rows["memory"], rows["sqlite"], rows["sqlite+key"]
    print(f"| sqlite / memory | {sql[0] / mem[0]:.2f}x | {sql[1] / mem[1]:.1f}x |")
    print(f"| sqlite+key / sqlite | {key[0] / sql[0]:.2f}x | {key[1] / sql[1]:.1f}x |")


if __name__ == "__main__":
    asyncio.run(main())
