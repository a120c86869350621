"""Run the aioscheduler benchmark suite and print markdown tables.

Usage (from the repository root, with the main venv's python):

    python benchmarks/run.py                    # full run (~15 min)
    python benchmarks/run.py --quick            # smaller N, shorter windows (<2 min)
    python benchmarks/run.py --only burst,precision --systems aioscheduler raw aps4
    python benchmarks/run.py --quick --json out.json

Every system x workload x case x N runs in its own child process (clean RSS,
no cross-talk) under a time cap; peers run from venvs under benchmarks/.venvs/
that are built on first use. Ratios are always against raw asyncio measured in
this same run. See benchmarks/README.md for what each workload measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _env
import _tables
from _child import RESULT_MARK

CHILD = str(Path(__file__).resolve().parent / "_child.py")
# Address-space cap per child: a system whose backlog grows without bound fails
# with MemoryError instead of taking the machine down.
CHILD_MEMORY_BYTES = 4 * 2**30


def _limit_child() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    except (ImportError, ValueError, OSError):
        pass


@dataclass(frozen=True, slots=True)
class System:
    key: str
    label: str
    impl: str  # module function suffix: raw | aioscheduler | aps3 | aps4 | aiocron
    loop: str
    venv: str | None  # None: the interpreter running this script


SYSTEMS = (
    System("aioscheduler", "aioscheduler", "aioscheduler", "asyncio", None),
    System("aioscheduler-uvloop", "aioscheduler + uvloop", "aioscheduler", "uvloop", None),
    System("raw", "raw asyncio", "raw", "asyncio", None),
    System("raw-uvloop", "raw uvloop", "raw", "uvloop", None),
    System("aps3", "APScheduler 3.11", "aps3", "asyncio", "peers"),
    System("aps4", "APScheduler 4.0.0a6", "aps4", "asyncio", "aps4"),
    System("aiocron", "aiocron 2.1", "aiocron", "asyncio", "peers"),
)
BY_KEY = {s.key: s for s in SYSTEMS}
BASELINE = "raw"
# Systems that also get N = 1e6 (the peers would only time out there).
MILLION_OK = {"raw", "raw-uvloop", "aioscheduler", "aioscheduler-uvloop"}


@dataclass(frozen=True, slots=True)
class Cell:
    workload: str
    case: str
    n: int
    system: str
    duration: float = 0.0
    budget: float = 60.0
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def plan(quick: bool, only: set[str] | None, systems: list[str], trim: bool = False) -> list[Cell]:
    ns = [1_000, 10_000] if quick else [1_000, 10_000, 100_000, 1_000_000]
    budget = 8.0 if quick else 40.0
    W: list[tuple[str, str, list[int], float, set[str] | None]] = []
    # (workload, case, Ns, duration, systems restriction or None)
    # Cost per item is flat past 1e4 for the cheap systems; quick keeps 1e4 only.
    cost_ns = [10_000] if quick else ns
    for case in ("timer", "job"):
        W.append(("schedule", case, cost_ns, 0.0, None))
    ours = {"aioscheduler", "aioscheduler-uvloop"}
    with_raw = ours | {"raw", "raw-uvloop"}
    for case in ("async", "sync", "inline", "timer"):
        # Bursts of 1e6 through threads or inline add ~1 min each and no insight.
        case_ns = [n for n in ns if case in ("async", "timer") or n <= 100_000]
        if quick:
            case_ns = [10_000]
        # raw "timer" would be raw "async" again: _tables compares with that.
        W.append(("burst", case, case_ns, 0.0, ours if case == "timer" else None))
    W.append(("precision", "oneshot", [10_000] if quick else ns, 1.0 if quick else 3.0, None))
    W.append(
        ("precision", "aligned", [1_000] if quick else [1_000, 10_000], 1.0 if quick else 5.0, None)
    )
    W.append(("precision", "fast", [10_000], 1.0 if quick else 5.0, None))
    for case in ("timer", "job"):
        W.append(("cancel", case, cost_ns, 0.0, None))
    W.append(("steady", "-", [10_000], 2.0 if quick else 30.0, None))
    # Full collections at 1e5 jobs (issue 11): ours and raw only.
    # the window spans one interval (10 s) at least, so every job fires in it
    W.append(("gcpause", "-", [100_000], 10.0 if quick else 12.0, with_raw))
    for case in ("async", "sync", "inline"):
        # No peer can return its next delay: one n/a row each is enough.
        W.append(
            (
                "resched",
                case,
                [10_000],
                1.0 if quick else 3.0,
                None if case == "async" else ours if case == "inline" else with_raw,
            )
        )

    cells = []
    for workload, case, case_ns, dur, only_sys in W:
        if only and workload not in only:
            continue
        for n in case_ns:
            for key in systems:
                if only_sys is not None and key not in only_sys:
                    continue
                if n > 100_000 and key not in MILLION_OK:
                    continue
                if (
                    trim
                    and n > 100_000
                    and not (workload == "burst" and case in ("async", "timer"))
                ):
                    continue  # --trim: N = 1e6 only where a target asks for it
                b = budget + dur * 1.5 + (30.0 if n >= 1_000_000 else 0.0)
                if workload == "gcpause":
                    b += 40.0  # registering 1e5 jobs comes first
                cells.append(Cell(workload, case, n, key, dur, b))
    return cells


def machine_info() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


class Runner:
    def __init__(self, systems: list[str], log: bool = True) -> None:
        self.log = log
        self.interp: dict[str, _env.Interpreter] = {}
        self.versions: dict[str, dict[str, str]] = {}
        for key in systems:
            self.interp[key] = self._interpreter(BY_KEY[key])

    def _interpreter(self, s: System) -> _env.Interpreter:
        if s.venv is None:
            it = _env.Interpreter(sys.executable)
        else:
            it = _env.ensure_venv(s.venv, log=self.log)
            if it.python is None:
                return it
        assert it.python is not None
        probe = {
            "aioscheduler": "import aioscheduler; aioscheduler.Scheduler; "
            "from aioscheduler import Every, Cron, At",
            "aps3": "import apscheduler.schedulers.asyncio",
            "aps4": "from apscheduler import AsyncScheduler",
            "aiocron": "import aiocron",
            "raw": "import anyio",
        }[s.impl]
        if s.loop == "uvloop":
            probe += "; import uvloop"
        err = _env.probe(it.python, probe)
        if err:
            return _env.Interpreter(None, err)
        mods = {
            "aioscheduler": ("aioscheduler", "anyio", "uvloop"),
            "raw": ("anyio", "uvloop"),
            "aps3": ("apscheduler",),
            "aps4": ("apscheduler", "anyio"),
            "aiocron": ("aiocron", "cronsim"),
        }[s.impl]
        self.versions[s.key] = _env.versions(it.python, mods)
        return it

    def run(self, cell: Cell) -> dict[str, Any]:
        s = BY_KEY[cell.system]
        it = self.interp[cell.system]
        rec: dict[str, Any] = {
            "workload": cell.workload,
            "case": cell.case,
            "n": cell.n,
            "system": cell.system,
        }
        if it.python is None:
            rec["status"] = f"unavailable: {it.error}"
            return rec
        params = {
            "workload": cell.workload,
            "case": cell.case,
            "system": s.impl,
            "loop": s.loop,
            "n": cell.n,
            "duration": cell.duration,
            "budget": cell.budget,
        }
        env = dict(os.environ)
        if s.venv is None:
            env["PYTHONPATH"] = os.pathsep.join(
                [str(_env.REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
            )
        cap = cell.budget + (5.0 if cell.budget < 30 else 15.0)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                [it.python, CHILD, json.dumps(params)],
                capture_output=True,
                text=True,
                timeout=cap,
                env=env,
                cwd=str(_env.REPO_ROOT),
                preexec_fn=_limit_child if os.name == "posix" else None,
            )
        except subprocess.TimeoutExpired:
            rec["status"] = f"timeout >{cap:.0f}s"
            rec["wall_s"] = time.perf_counter() - t0
            return rec
        rec["wall_s"] = time.perf_counter() - t0
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_MARK)), None)
        if line is None:
            tail = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
            telling = (
                [
                    ln
                    for ln in tail
                    if ln.startswith("Fatal Python error") or "Error" in ln.split(":", 1)[0]
                ]
                or tail
                or ["?"]
            )
            rec["status"] = f"failed: exit {proc.returncode}: {telling[-1][:160]}"
            return rec
        out = json.loads(line[len(RESULT_MARK) :])
        res = out["result"]
        rec["result"], rec["peak_rss"] = res, out.get("peak_rss")
        if "na" in res:
            rec["status"] = f"n/a: {res['na']}"
        elif "error" in res:
            err = str(res["error"])
            rec["status"] = err if err.startswith("timeout") else f"failed: {err}"
        else:
            rec["status"] = "ok"
        return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small N, short windows (<2 min)")
    ap.add_argument("--json", metavar="PATH", help="also write every result as JSON")
    ap.add_argument(
        "--trim",
        action="store_true",
        help="full run, but N = 1e6 only for the async job and timer bursts (issue 11 targets)",
    )
    ap.add_argument(
        "--only",
        metavar="WORKLOAD",
        action="append",
        help="schedule, burst, precision, cancel, steady, gcpause, resched (comma-separate)",
    )
    ap.add_argument(
        "--systems",
        nargs="+",
        metavar="SYSTEM",
        help=f"subset of: {' '.join(BY_KEY)} (raw is always included)",
    )
    args = ap.parse_args(argv)

    only = {w.strip() for arg in args.only or [] for w in arg.split(",") if w.strip()} or None
    if only and only - set(_tables.WORKLOADS):
        ap.error(f"unknown workload(s): {', '.join(sorted(only - set(_tables.WORKLOADS)))}")
    systems = [
        k.strip() for arg in args.systems or list(BY_KEY) for k in arg.split(",") if k.strip()
    ]
    unknown = [k for k in systems if k not in BY_KEY]
    if unknown:
        ap.error(f"unknown system(s): {', '.join(unknown)}")
    if BASELINE not in systems:
        systems.insert(0, BASELINE)  # every ratio needs it
    systems = [k for k in BY_KEY if k in systems]  # canonical order

    t_start = time.perf_counter()
    runner = Runner(systems)
    cells = plan(args.quick, only, systems, args.trim)
    timed_out: set[tuple[str, str, str]] = set()
    records = []
    for idx, cell in enumerate(cells, 1):
        key = (cell.workload, cell.case, cell.system)
        if key in timed_out:
            rec = {
                "workload": cell.workload,
                "case": cell.case,
                "n": cell.n,
                "system": cell.system,
                "status": "skipped: timed out at a smaller N",
            }
        else:
            rec = runner.run(cell)
            if str(rec["status"]).startswith("timeout"):
                timed_out.add(key)
        records.append(rec)
        print(
            f"[{idx}/{len(cells)}] {cell.workload}/{cell.case} N={cell.n:,} {cell.system}: "
            f"{rec['status']} ({rec.get('wall_s', 0):.1f}s)",
            file=sys.stderr,
            flush=True,
        )
    wall = time.perf_counter() - t_start

    meta = {
        **machine_info(),
        "mode": "quick" if args.quick else "full (trimmed)" if args.trim else "full",
        "versions": runner.versions,
        "wall_s": wall,
        "systems": {k: BY_KEY[k].label for k in systems},
        "unavailable": {k: it.error for k, it in runner.interp.items() if it.python is None},
    }
    print(_tables.render(meta, records, [BY_KEY[k] for k in systems]))
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": records}, indent=1))
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
