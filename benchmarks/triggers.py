"""Next-time math of cron triggers: aioscheduler ``Cron`` vs croniter vs APScheduler 3.11.

    .venv/bin/python benchmarks/triggers.py            # ~1 min; prints a markdown table
    .venv/bin/python benchmarks/triggers.py --steps 500 --repeat 3   # quicker

Each cell walks ``steps`` consecutive firings of one expression in Europe/Berlin from
2026-01-01 (so the walk crosses the spring DST change for the frequent expressions) and reports
the best of ``repeat`` walks, in microseconds per next time:

- ``aioscheduler``: ``Cron.next_after(t)`` (aware datetimes, the API the stores use);
- ``aioscheduler ts``: ``Cron.next_after_ts(t)`` (float timestamps, the planning hot path),
  with its per-slot memo cleared before every walk, so nothing is served from the memo;
- ``croniter``: one ``croniter`` iterator, ``get_next(datetime)`` (its cheapest use);
- ``APS 3.11``: ``CronTrigger.get_next_fire_time(t, t)``, in the peer venv
  ``benchmarks/.venvs/peers`` (built on first use, see ``_env.py``).

``ratio`` is aioscheduler / APS 3.11 in the same run (below 1: aioscheduler is faster). The
last table shows the per-slot memo: 1,000 jobs sharing one expression ask for the next time
of the same slot, and all but the first are served from it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ZONE = "Europe/Berlin"
START = datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))

#: (label, 5/6-field expression for aioscheduler and croniter, APScheduler 3 CronTrigger kwargs)
CASES: list[tuple[str, str, str | None, dict[str, str]]] = [
    ("every 15 min", "*/15 * * * *", "*/15 * * * *", {"minute": "*/15"}),
    (
        "weekdays 09:00",
        "0 9 * * mon-fri",
        "0 9 * * mon-fri",
        {"hour": "9", "day_of_week": "mon-fri"},
    ),
    ("daily 02:30 (DST gap)", "30 2 * * *", "30 2 * * *", {"hour": "2", "minute": "30"}),
    ("hourly", "0 * * * *", "0 * * * *", {"minute": "0"}),
    ("every 2 h", "0 */2 * * *", "0 */2 * * *", {"hour": "*/2"}),
    ("monthly 1st", "0 0 1 * *", "0 0 1 * *", {"day": "1", "hour": "0"}),
    ("every 20 s", "*/20 * * * * *", "* * * * * */20", {"second": "*/20", "minute": "*"}),
    (
        "seconds 5,35 of 9-17h",
        "5,35 * 9-17 * * *",
        "* 9-17 * * * 5,35",
        {"second": "5,35", "minute": "*", "hour": "9-17"},
    ),
    ("last day of month", "0 0 L * *", "0 0 L * *", {"day": "last", "hour": "0"}),
    ("2nd Friday", "0 12 * * fri#2", "0 12 * * 5#2", {"day": "2nd fri", "hour": "12"}),
]


def _best(walk: Any, repeat: int, steps: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        walk()
        best = min(best, time.perf_counter() - t0)
    return best / steps * 1e6


def bench_aps3(steps: int, repeat: int) -> dict[str, float]:
    """Run in the peer venv: APScheduler 3.11's CronTrigger."""
    from apscheduler.triggers.cron import CronTrigger

    out = {}
    for label, _, _, kwargs in CASES:
        full = {"second": "0", "minute": "0", **kwargs}
        trigger = CronTrigger(timezone=ZONE, **full)

        def walk(trigger: Any = trigger) -> None:
            t = START
            for _ in range(steps):
                t = trigger.get_next_fire_time(t, t)

        out[label] = _best(walk, repeat, steps)
    return out


def bench_local(steps: int, repeat: int) -> dict[str, dict[str, float]]:
    """aioscheduler and croniter, in this interpreter."""
    from croniter import croniter

    from aioscheduler.triggers import Cron
    from aioscheduler.triggers import cron as cron_module

    zone = ZoneInfo(ZONE)
    out: dict[str, dict[str, float]] = {"aioscheduler": {}, "aioscheduler ts": {}, "croniter": {}}
    for label, expr, cexpr, _ in CASES:
        trigger = Cron(expr, timezone=ZONE)

        def walk_dt(trigger: Cron = trigger) -> None:
            t: datetime | None = START
            for _ in range(steps):
                assert t is not None
                t = trigger.next_after(t)

        def walk_ts(trigger: Cron = trigger) -> None:
            cron_module._next_ts.cache_clear()
            t: float | None = START.timestamp()
            for _ in range(steps):
                assert t is not None
                t = trigger.next_after_ts(t)

        out["aioscheduler"][label] = _best(walk_dt, repeat, steps)
        out["aioscheduler ts"][label] = _best(walk_ts, repeat, steps)
        if cexpr is not None:

            def walk_croniter(cexpr: str = cexpr) -> None:
                it = croniter(cexpr, START.astimezone(zone))
                for _ in range(steps):
                    it.get_next(datetime)

            out["croniter"][label] = _best(walk_croniter, repeat, steps)
    return out


def bench_shared_slot(jobs: int = 1000) -> dict[str, float]:
    """1,000 equal crons asking for one slot: computed once, then served from the memo."""
    from aioscheduler.triggers import Cron
    from aioscheduler.triggers import cron as cron_module

    crons = [Cron("0 * * * *", timezone=ZONE) for _ in range(jobs)]
    prev = START.timestamp()
    cron_module._next_ts.cache_clear()
    t0 = time.perf_counter()
    for c in crons:
        c.next_after_ts(prev)
    shared = time.perf_counter() - t0
    info = cron_module._next_ts.cache_info()
    t0 = time.perf_counter()
    for c in crons:
        c.next_after(START)
    unshared = time.perf_counter() - t0
    return {
        "jobs": jobs,
        "computed": info.misses,
        "served from memo": info.hits,
        "memo us/job": shared / jobs * 1e6,
        "no memo us/job": unshared / jobs * 1e6,
    }


def _peer(steps: int, repeat: int) -> tuple[dict[str, float] | None, str]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _env import ensure_venv

    interp = ensure_venv("peers")
    if interp.python is None:
        return None, f"unavailable: {interp.error}"
    proc = subprocess.run(
        [interp.python, __file__, "--child-aps3", "--steps", str(steps), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        return None, f"failed: {proc.stderr.strip().splitlines()[-1:]}"
    lines = proc.stdout.strip().splitlines()
    versions = subprocess.run(
        [interp.python, "-c", "import apscheduler; print(apscheduler.__version__)"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return json.loads(lines[-1]), f"APScheduler {versions}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child-aps3", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_aps3:
        print(json.dumps(bench_aps3(args.steps, args.repeat)))
        return
    import platform
    from importlib.metadata import version

    aps, aps_note = _peer(args.steps, args.repeat)
    local = bench_local(args.steps, args.repeat)
    print(f"# Cron next-time math: us per next time (best of {args.repeat} walks of {args.steps})")
    print()
    print(f"Python {platform.python_version()} on {platform.machine()}, croniter "
          f"{version('croniter')}, {aps_note}; zone {ZONE}")  # fmt: skip
    print()
    print("| expression | | aioscheduler | aioscheduler ts | croniter | APS 3.11 | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|")
    worst = 0.0
    for label, expr, _, _ in CASES:
        ours = local["aioscheduler"][label]
        ts = local["aioscheduler ts"][label]
        cron = local["croniter"].get(label)
        peer = None if aps is None else aps.get(label)
        ratio = "" if peer is None else f"{ours / peer:.2f}"
        if peer is not None:
            worst = max(worst, ours / peer)
        print(
            f"| {label} | `{expr}` | {ours:.1f} | {ts:.1f} | "
            f"{'' if cron is None else f'{cron:.1f}'} | {'' if peer is None else f'{peer:.1f}'} "
            f"| {ratio} |"
        )
    if aps is not None:
        print(f"\nworst ratio aioscheduler / APS 3.11: {worst:.2f} (target <= 1.00)")
    shared = bench_shared_slot()
    print("\n| 1,000 jobs on `0 * * * *`, one slot | value |\n|---|---:|")
    for key, value in shared.items():
        print(f"| {key} | {value:.2f} |" if isinstance(value, float) else f"| {key} | {value} |")


if __name__ == "__main__":
    main()
