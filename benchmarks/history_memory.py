"""Memory kept by failed runs in the memory store's history (issue 10 item 10).

Usage: ``python benchmarks/history_memory.py 2>/dev/null`` (stderr: the failures' log lines).

50 jobs fail 10 times each with a 1 MB local in the failing frame, with ``history_limit`` 10 and
0, each in its own process. Prints the RSS after a garbage collection, the peak RSS, and how
many failed runs the history holds. Before the fix the history kept every failing frame's locals
alive (508 MiB after gc with ``history_limit=10``, against 29 MiB with 0).
"""

from __future__ import annotations

import asyncio
import gc
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def _rss_mib() -> float:
    with Path("/proc/self/statm").open() as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def _failing(i: int) -> Callable[[], None]:
    def fail() -> None:
        buffer = bytearray(1_000_000)  # a large local in the failing frame
        raise ValueError(f"job {i} failed ({len(buffer)} bytes in a local)")

    return fail


async def child(history_limit: int) -> str:
    from aioscheduler import Every, Scheduler
    from aioscheduler.testing import FakeClock

    clock = FakeClock()
    s = Scheduler(clock=clock, history_limit=history_limit)
    for i in range(50):
        await s.add(_failing(i), Every(seconds=1), id=f"j{i}", executor="inline")
    async with s:
        await clock.advance(10)
        gc.collect()
        kept = sum(len(j.history) for j in await s.jobs())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return f"| {history_limit} | {_rss_mib():.0f} | {peak:.0f} | {kept} |"


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(asyncio.run(child(int(sys.argv[2]))))
        return
    print("| history_limit | RSS after gc (MiB) | peak RSS (MiB) | failed runs kept |")
    print("|---:|---:|---:|---:|")
    for limit in (10, 0):
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(limit)], capture_output=True, text=True
        )
        print(out.stdout.strip() or f"| {limit} | failed: {out.stderr[-200:]!r} | | |")


if __name__ == "__main__":
    main()
