"""A slow event subscriber must not slow the firings (issue 10 item 9).

Usage (from the repository root, with the main venv's python):

    python benchmarks/subscribers.py            # 3 s window per case (~20 s in all)
    python benchmarks/subscribers.py --seconds 10

500 jobs fire every 100 ms (5,000 firings/s expected) for a fixed window of real time, in each
of these cases, each in its own child process, one after another:

- ``none``: no subscriber (the baseline, measured in the same run);
- ``thread-20ms``: a plain-function subscriber that blocks 20 ms per event (``time.sleep``):
  served on a worker thread, it takes 50 events/s and the rest is dropped and counted;
- ``async-20ms``: a coroutine subscriber that awaits 20 ms per event;
- ``inline-20ms``: the same blocking subscriber marked ``inline``, i.e. called on the loop,
  which is what every plain-function subscriber was before: the firing path waits for it.

The table gives firings in the window, the ratio to ``none`` (1.00 = as many firings as without a
subscriber), the p99 lateness of the firings, and the events the subscriber handled and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ("none", "thread-20ms", "async-20ms", "inline-20ms")
JOBS = 500
INTERVAL = 0.1
PER_EVENT = 0.020


async def child(case: str, seconds: float) -> dict[str, float]:
    from aioscheduler import Every, Scheduler, current_run, inline

    scheduler = Scheduler()
    fired = 0
    lateness: list[float] = []
    counting = False
    handled = 0

    async def job() -> None:
        nonlocal fired
        if counting:
            fired += 1
            run = current_run()
            assert run is not None and run.started_at is not None
            lateness.append((run.started_at - run.scheduled_at).total_seconds())

    def blocking(event: object) -> None:
        nonlocal handled
        handled += 1
        time.sleep(PER_EVENT)

    async def waiting(event: object) -> None:
        nonlocal handled
        handled += 1
        await asyncio.sleep(PER_EVENT)

    subscription = None
    if case == "thread-20ms":
        subscription = scheduler.subscribe(blocking)
    elif case == "async-20ms":
        subscription = scheduler.subscribe(waiting)
    elif case == "inline-20ms":
        subscription = scheduler.subscribe(inline(blocking))
    for i in range(JOBS):
        await scheduler.add(job, Every(seconds=INTERVAL), id=f"job{i}")
    async with scheduler:
        await asyncio.sleep(0.5)  # warm up: every job has fired a few times
        counting = True
        await asyncio.sleep(seconds)
        counting = False
        dropped = subscription.dropped if subscription is not None else 0
        await scheduler.stop(timeout=1)
    lateness.sort()
    p99 = lateness[int(len(lateness) * 0.99)] if lateness else float("nan")
    return {"fired": fired, "p99_ms": p99 * 1000, "handled": handled, "dropped": dropped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="window per case (s)")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, args.seconds))))
        return
    results = {}
    for case in CASES:
        out = subprocess.run(
            [sys.executable, __file__, "--child", case, "--seconds", str(args.seconds)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=args.seconds * 10 + 60,
        )
        lines = out.stdout.strip().splitlines()
        results[case] = json.loads(lines[-1]) if lines else {"error": out.stderr[-300:]}
    expected = JOBS / INTERVAL * args.seconds
    base = results["none"].get("fired") or 1
    print(f"{JOBS} jobs every {INTERVAL * 1000:.0f} ms, {args.seconds:g} s window ")
    print(f"(expected {expected:,.0f} firings); subscriber: {PER_EVENT * 1000:.0f} ms per event\n")
    print("| case | firings | vs none | p99 lateness ms | events handled | events dropped |")
    print("|---|---:|---:|---:|---:|---:|")
    for case, r in results.items():
        if "error" in r:
            print(f"| {case} | failed: {r['error']!r} | | | | |")
            continue
        print(
            f"| {case} | {r['fired']:,.0f} | {r['fired'] / base:.2f} | {r['p99_ms']:.1f} | "
            f"{r['handled']:,.0f} | {r['dropped']:,.0f} |"
        )


if __name__ == "__main__":
    main()
