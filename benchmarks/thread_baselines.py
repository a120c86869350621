"""Raw ``asyncio.to_thread`` in the shape of the ``burst``/``sync`` workload (reference only).

    python benchmarks/thread_baselines.py 10000 40   # a 40-thread default executor
    python benchmarks/thread_baselines.py 10000 0    # asyncio's own default (min(32, cpus + 4))

N ``loop.call_at`` callbacks due at one instant, each ``create_task(asyncio.to_thread(fn))``;
prints the burst workload's result (firings/s). The suite's raw ``sync`` baseline is
``anyio.to_thread.run_sync`` with a limiter of 40 (benchmarks/README.md); this script shows
where plain ``asyncio.to_thread`` stands in the same shape.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workloads import burst
from workloads._common import Params


async def run(p: Params, threads: int) -> dict[str, Any]:
    _, due, due_loop = burst._prepare(p)
    loop = asyncio.get_running_loop()
    if threads:
        loop.set_default_executor(ThreadPoolExecutor(threads))
    spawn = loop.create_task

    def cb() -> None:
        spawn(asyncio.to_thread(burst.fire_sync))

    for _ in range(p.n):
        loop.call_at(due_loop, cb)
    return await burst._finish(p, due, time.perf_counter())


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    p = Params(workload="burst", case="sync", system="raw", loop="asyncio", n=n, budget=60)
    print(asyncio.run(run(p, threads)), flush=True)
    os._exit(0)  # do not wait for the pool's threads


if __name__ == "__main__":
    main()
