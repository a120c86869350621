"""Soak test of the SQLite store under kill -9 (issue 10, "Done means").

Usage::

    python benchmarks/soak.py [--jobs 10000] [--seconds 600] [--kill-every 60] [--interval 10]

A scheduler process runs JOBS jobs (every INTERVAL s, with jitter; one in ten fails on its
first attempt and retries) on one SQLite file. Every KILL_EVERY seconds the process gets
SIGKILL and a new one starts on the same file; the last one stops cleanly. Each run appends
``job slot attempt pid`` to a log (one ``os.write`` on an O_APPEND file, before the job's own
work). Prints a table per process (firings, RSS before the kill) and the verdict:

- doubled: a (job, slot, attempt) logged twice: must be 0;
- re-run: (job, slot) with more than one attempt (interrupted runs re-run while their retry
  budget allows, and the retries of failing jobs);
- stuck: claimed firings left in the file after the clean stop, and jobs without a future
  next run: must be 0;
- RSS of each process before it was killed (flat = no growth from process to process).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
_LOG_FD: int | None = None


def _log(line: str) -> None:
    global _LOG_FD
    if _LOG_FD is None:
        _LOG_FD = os.open(os.environ["SOAK_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(_LOG_FD, line.encode())


async def soak_job(i: int) -> None:
    """The stored job: log the firing; one job in ten fails on its first attempt."""
    from aioscheduler import current_run

    run = current_run()
    assert run is not None
    _log(f"j{i} {run.scheduled_at.timestamp():.3f} {run.attempt} {os.getpid()}\n")
    if i % 10 == 0 and run.attempt == 1:
        raise RuntimeError("first attempt fails")


async def _child(db: str, jobs: int, interval: float, seconds: float, add: bool) -> None:
    from datetime import timedelta

    from aioscheduler import Backoff, Every, Scheduler

    scheduler = Scheduler(store=f"sqlite:///{db}", allow=["soak"], loop_lag_threshold=None)
    if add:
        for i in range(jobs):
            await scheduler.add(
                soak_job,
                Every(seconds=interval, jitter=timedelta(seconds=1)),
                id=f"j{i}",
                args=(i,),
                retries=2,
                backoff=Backoff(initial=0.5, factor=2, max=2),
            )
    async with scheduler:
        print("ready", flush=True)
        await asyncio.sleep(seconds)


def child() -> None:
    db, jobs, interval, seconds, add = sys.argv[2:7]
    asyncio.run(_child(db, int(jobs), float(interval), float(seconds), add == "add"))


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--kill-every", type=float, default=60)
    parser.add_argument("--interval", type=float, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aiosched-soak-"))
    db, log = tmp / "soak.db", tmp / "runs.log"
    env = {**os.environ, "SOAK_LOG": str(log)}
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import soak; soak.child()"
    rounds: list[tuple[int, str, float, int]] = []
    end = time.monotonic() + args.seconds
    first = True
    errors = (tmp / "children.log").open("w")  # the children's log lines (retries...)
    while True:
        left = end - time.monotonic()
        last = left <= args.kill_every * 1.5
        run_for = max(left, 5.0) if last else 3600.0
        before = len(log.read_text().splitlines()) if log.exists() else 0
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "child", str(db), str(args.jobs), str(args.interval),
             str(run_for), "add" if first else "restart"],
            env=env, stdout=subprocess.PIPE, stderr=errors, text=True,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        first = False
        if last:
            proc.wait(run_for + 120)
            how, rss = f"clean stop (exit {proc.returncode})", float("nan")
        else:
            time.sleep(args.kill_every)
            rss = _rss_mib(proc.pid)
            proc.send_signal(signal.SIGKILL)
            proc.wait(60)
            how = "SIGKILL"
        after = len(log.read_text().splitlines()) if log.exists() else 0
        rounds.append((proc.pid, how, rss, after - before))
        if last:
            break
    errors.close()

    lines = [line.split() for line in log.read_text().splitlines()]
    keys = Counter((job, slot, attempt) for job, slot, attempt, _ in lines)
    doubled = sum(1 for n in keys.values() if n > 1)
    attempts = Counter((job, slot) for job, slot, _, _ in lines)
    rerun = sum(1 for n in attempts.values() if n > 1)
    conn = sqlite3.connect(db)
    (claimed,) = conn.execute("SELECT count(*) FROM firings").fetchone()
    (no_future,) = conn.execute(
        "SELECT count(*) FROM jobs WHERE nominal IS NULL OR nominal < ?", (time.time() - 60,)
    ).fetchone()
    lost_runs = conn.execute(
        "SELECT count(*) FROM runs WHERE instr(CAST(record AS TEXT), 'lost:') > 0"
    ).fetchone()[0]
    conn.close()

    print(f"{args.jobs:,} jobs every {args.interval:g} s, {args.seconds:g} s, "
          f"SIGKILL every {args.kill_every:g} s; files in {tmp}")  # fmt: skip
    print("\n| process | ended by | firings logged | RSS before kill (MiB) |")
    print("|---|---|---:|---:|")
    for i, (pid, how, rss, count) in enumerate(rounds, 1):
        print(f"| {i} (pid {pid}) | {how} | {count:,} | {rss:.0f} |")
    print("\n| check | value |")
    print("|---|---:|")
    print(f"| firings logged | {len(lines):,} |")
    print(f"| doubled (same job, slot, attempt twice; must be 0) | {doubled} |")
    print(f"| (job, slot) run more than once (retries, interrupted runs) | {rerun:,} |")
    print(f"| runs reported lost (crash budget used up) | {lost_runs} |")
    print(f"| claimed firings left after the clean stop (must be 0) | {claimed} |")
    print(f"| jobs without a future next run (must be 0) | {no_future} |")


if __name__ == "__main__":
    main()
