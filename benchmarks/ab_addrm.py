"""Same-process A/B of ``add()`` and ``remove()``: two copies of the package, alternated.

    git archive <base-commit> aioscheduler | tar -x -C /tmp/base
    mv /tmp/base/aioscheduler /tmp/base/aioscheduler_base
    nice -n 5 python benchmarks/ab_addrm.py --base /tmp/base 10000 5

Each round, for the base copy then this tree's (the order flips every round): a started
scheduler on the memory store, N ``add()`` calls as the suite's schedule cell makes them
(``Every(seconds=3600, start_at=...)``, ``id=``, the trigger built in the timed loop), then
N ``remove()`` calls. Prints µs per call of each, and the minimum over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


async def noop() -> None:
    return None


async def one(pkg: Any, n: int) -> tuple[float, float]:
    s = pkg.Scheduler()
    await s.start()
    try:
        every = pkg.Every
        wall = time.time()
        starts = [
            datetime.fromtimestamp(wall + 3600 + (i * 7919 % n) * 60 / n, UTC) for i in range(n)
        ]
        ids = [f"j{i}" for i in range(n)]
        add = s.add
        gc.collect()
        t0 = time.perf_counter()
        for i in range(n):
            await add(noop, every(seconds=3600.0, start_at=starts[i]), id=ids[i])
        t1 = time.perf_counter()
        remove = s.remove
        gc.collect()
        t2 = time.perf_counter()
        for job_id in ids:
            await remove(job_id)
        t3 = time.perf_counter()
    finally:
        await s.stop()
    return (t1 - t0) / n * 1e6, (t3 - t2) / n * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int)
    ap.add_argument("rounds", type=int)
    ap.add_argument("--base", required=True, type=Path, help="holds aioscheduler_base/")
    args = ap.parse_args()
    sys.path.insert(0, str(args.base.resolve()))
    sys.path.insert(0, str(HERE.parent))
    pkgs = {
        "base": importlib.import_module("aioscheduler_base"),
        "new": importlib.import_module("aioscheduler"),
    }
    res: dict[str, list[tuple[float, float]]] = {k: [] for k in pkgs}
    for r in range(args.rounds):
        order = list(pkgs) if r % 2 == 0 else list(reversed(pkgs))
        for label in order:
            a, b = asyncio.run(one(pkgs[label], args.n))
            res[label].append((a, b))
            print(f"{r} {label:4} add {a:6.2f} us  remove {b:5.2f} us", flush=True)
    for label, rows in res.items():
        print(
            f"min {label:4} add {min(a for a, _ in rows):6.2f} us  "
            f"remove {min(b for _, b in rows):5.2f} us"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
