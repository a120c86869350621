"""A/B of one workload cell between two source trees, alternated, on a shared machine.

    git archive <base-commit> | tar -x -C /tmp/base
    python benchmarks/ab.py --base /tmp/base precision fast 10000 --duration 5 --rounds 3 \\
        --keys fired_pct,p50_ms,p99_ms

Every run is a fresh child process (``PYTHONPATH`` set to the tree, the workload code from
this checkout), and the base, this tree and raw asyncio take turns in each round, so load
from other processes hits all of them alike. Single runs on a loaded machine mean little:
compare the rounds side by side, or their minimum. Prints one line per run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARK = "@@AB "

_CHILD = """
import asyncio, importlib, json, os, sys, time
sys.path.insert(0, {bench!r})
from workloads._common import Params
wl, case, system, n, dur = {args!r}
mod = importlib.import_module("workloads." + wl)
p = Params(workload=wl, case=case, system=system, loop="asyncio", n=n, duration=dur, budget=60)
async def main():
    t0 = time.process_time()
    r = await getattr(mod, "run_" + system)(p)
    r["cpu_total"] = time.process_time() - t0
    return r
r = asyncio.run(main())
print({mark!r} + json.dumps(r, default=str), flush=True)
sys.stderr.flush()
os._exit(0)
"""


def run_one(tree: Path, workload: str, case: str, system: str, n: int, dur: float) -> dict:
    code = _CHILD.format(bench=str(HERE), args=(workload, case, system, n, dur), mark=MARK)
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd="/"
    )
    for line in out.stdout.splitlines():
        if line.startswith(MARK):
            return dict(json.loads(line[len(MARK) :]))
    return {"error": out.stderr[-500:]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workload")
    ap.add_argument("case", help="the workload's case ('-' for none)")
    ap.add_argument("n", type=int)
    ap.add_argument("--base", required=True, type=Path, help="the other source tree")
    ap.add_argument("--duration", type=float, default=0.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keys", default="fired_pct,p99_ms")
    ap.add_argument("--no-raw", action="store_true", help="skip raw asyncio")
    args = ap.parse_args()
    keys = args.keys.split(",")
    trees = [("base", args.base.resolve()), ("new", HERE.parent)]
    for r in range(args.rounds):
        for label, tree in trees:
            res = run_one(tree, args.workload, args.case, "aioscheduler", args.n, args.duration)
            print(r, label, {k: res.get(k) for k in keys} if "error" not in res else res)
        if not args.no_raw:
            res = run_one(HERE.parent, args.workload, args.case, "raw", args.n, args.duration)
            print(r, "raw", {k: res.get(k) for k in keys} if "error" not in res else res)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
