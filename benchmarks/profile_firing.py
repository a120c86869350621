"""Where a job firing's time goes: cProfile over N no-op async job firings.

    python benchmarks/profile_firing.py                 # burst of 100,000 At jobs
    python benchmarks/profile_firing.py --every 10000   # 10,000 Every(0.1 s) jobs for 2 s
    python benchmarks/profile_firing.py --top 30 --sort cumulative

Registration is not profiled: the profiler is switched on just before the firings are due
and off once the last one ran. Prints loop time per firing (the profiler roughly doubles
it; read the shares, not the absolute figures) and the top functions by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aioscheduler import At, Every, Scheduler

COUNT = [0]
TARGET = [0]
DONE: list[asyncio.Event] = []


async def noop() -> None:
    COUNT[0] += 1
    if COUNT[0] == TARGET[0]:
        DONE[-1].set()


async def burst(n: int, prof: cProfile.Profile | None) -> float:
    DONE.append(asyncio.Event())
    TARGET[0] = n
    async with Scheduler() as s:
        when = datetime.now(UTC) + timedelta(seconds=0.5 + n * 30e-6)
        for i in range(n):
            await s.add(noop, At(when), id=f"b{i}")
        gc.collect()
        delay = (when - datetime.now(UTC)).total_seconds()
        await asyncio.sleep(max(0.0, delay - 0.01))
        t0 = time.process_time()
        if prof is not None:
            prof.enable()
        await DONE[-1].wait()
        if prof is not None:
            prof.disable()
        return time.process_time() - t0


async def timer_burst(n: int, prof: cProfile.Profile | None) -> float:
    DONE.append(asyncio.Event())
    TARGET[0] = n
    async with Scheduler() as s:
        when = datetime.now(UTC) + timedelta(seconds=0.3 + n * 5e-6)
        for _ in range(n):
            s.call_at(when, noop)
        gc.collect()
        delay = (when - datetime.now(UTC)).total_seconds()
        await asyncio.sleep(max(0.0, delay - 0.01))
        t0 = time.process_time()
        if prof is not None:
            prof.enable()
        await DONE[-1].wait()
        if prof is not None:
            prof.disable()
        return time.process_time() - t0


async def raw_burst(n: int) -> float:
    """The baseline: ``call_at`` + ``create_task`` of the same coroutine, same due time."""
    DONE.append(asyncio.Event())
    TARGET[0] = n
    loop = asyncio.get_running_loop()
    due = loop.time() + 0.3 + n * 2e-6

    def cb() -> None:
        loop.create_task(noop())  # noqa: RUF006  (the baseline keeps no reference, as raw does)

    for _ in range(n):
        loop.call_at(due, cb)
    gc.collect()
    await asyncio.sleep(max(0.0, due - loop.time() - 0.01))
    t0 = time.process_time()
    await DONE[-1].wait()
    return time.process_time() - t0


async def every(n: int, seconds: float, prof: cProfile.Profile | None) -> float:
    DONE.append(asyncio.Event())
    TARGET[0] = -1
    async with Scheduler() as s:
        for i in range(n):
            await s.add(noop, Every(0.1), id=f"e{i}")
        gc.collect()
        await asyncio.sleep(0.3)
        COUNT[0] = 0
        t0 = time.process_time()
        if prof is not None:
            prof.enable()
        await asyncio.sleep(seconds)
        if prof is not None:
            prof.disable()
        return time.process_time() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="burst size (default 1e5)")
    ap.add_argument("--every", type=int, default=0, help="N Every(0.1 s) jobs instead")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--sort", default="tottime")
    ap.add_argument("--no-profile", action="store_true", help="just time the firings")
    ap.add_argument("--timers", action="store_true", help="call_at timers, not jobs")
    ap.add_argument("--raw", action="store_true", help="also time raw call_at + create_task")
    args = ap.parse_args()
    prof = None if args.no_profile else cProfile.Profile()
    if args.every:
        cpu = asyncio.run(every(args.every, args.seconds, prof))
    elif args.timers:
        cpu = asyncio.run(timer_burst(args.n, prof))
    else:
        cpu = asyncio.run(burst(args.n, prof))
    fired = COUNT[0]
    print(f"{fired:,} firings, CPU {cpu:.3f} s, {cpu / max(fired, 1) * 1e6:.2f} µs per firing")
    if args.raw and not args.every:
        COUNT[0] = 0
        raw = asyncio.run(raw_burst(args.n))
        print(f"raw call_at + create_task: {raw / args.n * 1e6:.2f} µs per firing")
    if prof is not None:
        stats = pstats.Stats(prof)
        stats.sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
