"""How long the event loop is blocked by a large SQLite store (issue 10 item 4).

Usage: ``python benchmarks/sqlite_history.py [JOBS ...]`` (default: 1000 100000).

For each size, a database with JOBS jobs x 10 finished runs each is written directly (one
transaction, rows sealed by the store's own codec; the build time is printed apart), then a
scheduler starts on it. A heartbeat task on the loop measures the longest stall while
``start()`` runs and while ``jobs()`` runs, and the wall time of each; then the same for the
store's ``list_jobs(history=False)`` (snapshots from memory, no history read: what a listing
needs) and one ``get(id)`` (one job's history, read on request). Targets (100k x 10):
``start()`` blocks the loop < 50 ms at a time, listing all jobs returns in < 1 s. The
1000-job row is the baseline measured in the same run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from aioscheduler import Every, Outcome, Run, Scheduler
from aioscheduler._serialization import PayloadCodec
from aioscheduler._values import JobSpec
from aioscheduler.stores._codec import encode_run, encode_spec
from aioscheduler.stores._sqlite_db import payload_func
from aioscheduler.stores._sqlite_schema import connect
from aioscheduler.stores.sqlite import SQLiteStore

T = TypeVar("T")

RUNS = 10


def build(path: Path, jobs: int) -> float:
    started = time.perf_counter()
    codec = PayloadCodec(None)
    first = datetime.now(UTC) + timedelta(days=1)
    # an importable callable (never run: the next times are a day ahead)
    template = JobSpec("j0", json.dumps, Every(hours=24, start_at=first).bind(UTC), (0,))
    conn = connect(str(path))
    conn.execute("BEGIN")
    for i in range(jobs):
        spec = dataclasses.replace(template, id=f"j{i}", args=(i,))
        conn.execute(
            "INSERT INTO jobs VALUES (?, ?, ?, 0, ?, ?, 0)",
            (spec.id, payload_func(spec), codec.seal(encode_spec(spec)), first.timestamp(),
             first.timestamp()),
        )  # fmt: skip
        runs = []
        for r in range(RUNS):
            at = first - timedelta(days=RUNS - r)
            run = Run(job_id=spec.id, scheduled_at=at, started_at=at, finished_at=at,
                      attempt=1, outcome=Outcome.SUCCESS, result=r)  # fmt: skip
            runs.append((spec.id, at.timestamp(), codec.seal(encode_run(run, 1))))
        conn.executemany("INSERT INTO runs (job_id, finished_at, record) VALUES (?, ?, ?)", runs)
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


class Stalls:
    """The longest gap between heartbeats on the loop (1 ms apart) during a block."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last - 0.001)
            last = now

    async def __aenter__(self) -> Stalls:
        self._task = asyncio.create_task(self._beat())
        await asyncio.sleep(0.01)
        self.longest = 0.0
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def timed(call: Callable[[], Awaitable[T]]) -> tuple[T, float, float]:
    """``call()``'s result, its wall time and the longest loop stall while it ran."""
    async with Stalls() as stalls:
        t = time.perf_counter()
        result = await call()
        return result, time.perf_counter() - t, stalls.longest


async def measure(path: Path) -> tuple[float, ...]:
    scheduler = Scheduler(store=f"sqlite:///{path}", allow=["json"], loop_lag_threshold=None)
    _, start_wall, start_block = await timed(scheduler.start)
    jobs, jobs_wall, jobs_block = await timed(scheduler.jobs)
    store = scheduler.store
    assert isinstance(store, SQLiteStore)
    bare, bare_wall, bare_block = await timed(lambda: store.list_jobs(history=False))
    one, get_wall, _ = await timed(lambda: scheduler.get("j5"))
    await scheduler.stop()
    assert len(bare) == len(jobs) and len(one.history) == RUNS
    return (start_wall, start_block, jobs_wall, jobs_block, bare_wall, bare_block, get_wall,
            sum(len(j.history) for j in jobs))  # fmt: skip


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 100_000]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in sizes:
            path = Path(tmp, f"jobs{jobs}.db")
            built = build(path, jobs)
            rows.append((jobs, built, *asyncio.run(measure(path))))
    print(f"| jobs x {RUNS} runs | build s | start() s | start() longest block ms | "
          "jobs() s | jobs() longest block ms | list_jobs(history=False) s | its longest "
          "block ms | get(id) ms | runs listed |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for jobs, built, sw, sb, jw, jb, bw, bb, gw, listed in rows:
        print(f"| {jobs:,} | {built:.1f} | {sw:.2f} | {sb * 1000:.0f} | {jw:.2f} | "
              f"{jb * 1000:.0f} | {bw:.2f} | {bb * 1000:.0f} | {gw * 1000:.1f} | "
              f"{int(listed):,} |")  # fmt: skip


if __name__ == "__main__":
    main()
