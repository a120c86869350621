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
- RSS of each process before it was killed (flat = no growth from process to process), and
  sampled every quarter of its life (flat = no growth inside a process);
- never run: every slot of every job from its first slot up to the job's stored next slot
  after the clean stop either ran (logged by the job, or folded into a run that ran by
  coalescing: ``Run.missed``) or was reported with a reason (``RunMissed``/``RunLost``/
  ``RunSkipped``/a cancelled ``RunFinished``, or a run record of the same kind in the job's
  history): the slots left over are lost and must be 0. Jobs are anchored with ``start_at``
  (phases spread over the interval) so that their slot grids are known exactly.
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
from typing import Any

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
    _log(f"j{i} {run.scheduled_at.timestamp():.3f} {run.attempt} {os.getpid()} {run.missed}\n")
    if i % 10 == 0 and run.attempt == 1:
        raise RuntimeError("first attempt fails")


async def _report(event: Any) -> None:
    """Subscriber: log every firing that was reported instead of run (``r`` lines)."""
    from aioscheduler import Outcome
    from aioscheduler.events import RunFinished

    run = event.run
    if isinstance(event, RunFinished) and run.outcome is not Outcome.CANCELLED:
        return
    kind = "lost" if type(event).__name__ == "RunLost" else str(run.outcome.value)
    reason = (run.reason or "-").replace(" ", "_")
    _log(
        f"r {run.job_id} {run.scheduled_at.timestamp():.3f} {run.attempt} {os.getpid()} "
        f"{run.missed} {kind} {reason}\n"
    )


async def _child(db: str, jobs: int, interval: float, seconds: float, add: bool) -> None:
    from datetime import UTC, datetime, timedelta

    from aioscheduler import Backoff, Every, Scheduler
    from aioscheduler.events import RunFinished, RunMissed, RunSkipped

    scheduler = Scheduler(store=f"sqlite:///{db}", allow=["soak"], loop_lag_threshold=None)
    if add:
        anchor = time.time() + interval  # phases spread over one interval
        firsts = []
        for i in range(jobs):
            start = anchor + interval * i / jobs
            job = await scheduler.add(
                soak_job,
                Every(
                    seconds=interval,
                    jitter=timedelta(seconds=1),
                    start_at=datetime.fromtimestamp(start, UTC),
                ),
                id=f"j{i}",
                args=(i,),
                retries=2,
                backoff=Backoff(initial=0.5, factor=2, max=2),
            )
            assert job.next_run_at is not None
            first = start + (job.next_run_at.timestamp() - start) // interval * interval
            firsts.append(f"j{i} {start!r} {first!r}\n")
        Path(db).with_name("firsts.txt").write_text("".join(firsts))
    subscription = scheduler.subscribe(_report, RunMissed, RunSkipped, RunFinished)
    async with scheduler:
        print("ready", flush=True)
        await asyncio.sleep(seconds)
        _log(f"stop {time.time():.3f} {os.getpid()}\n")
    _log(f"dropped {subscription.dropped} {os.getpid()}\n")


async def _history(db: str) -> None:
    """Print the not-run and folded records of every job's stored history (``h`` lines)."""
    from aioscheduler import Scheduler

    scheduler = Scheduler(store=f"sqlite:///{db}", allow=["soak"], loop_lag_threshold=None)
    for job in await scheduler.jobs():
        for run in job.history:
            outcome = run.outcome.value if run.outcome is not None else "-"
            reason = (run.reason or "-").replace(" ", "_")
            print(
                f"h {job.id} {run.scheduled_at.timestamp():.3f} {run.attempt} {run.missed} "
                f"{outcome} {reason}"
            )


def child() -> None:
    if sys.argv[2] == "history":
        asyncio.run(_history(sys.argv[3]))
        return
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


def _slot_key(ts: float) -> int:
    return round(ts * 1000)  # slots compared in milliseconds (logged with 3 decimals)


def _never_run(
    tmp: Path, db: Path, interval: float, lines: list[list[str]], reports: list[list[str]]
) -> dict[str, Any]:
    """Every slot from each job's first slot up to its stored next slot: ran or reported."""
    step = _slot_key(interval)
    covered: dict[str, set[int]] = {}
    ran: dict[str, set[int]] = {}
    for job, slot, _attempt, _pid, missed in lines:
        key = _slot_key(float(slot))
        ran.setdefault(job, set()).add(key)
        # a run that ran with missed = m folded the m slots before it (coalescing)
        covered.setdefault(job, set()).update(key - k * step for k in range(int(missed) + 1))
    reported: dict[str, set[int]] = {}
    kinds: dict[tuple[str, int], str] = {}  # the same report may come as event and record
    for job, slot, missed, kind in reports:
        key = _slot_key(float(slot))
        n = max(int(missed), 1)
        # a run reported missed covers ``missed`` slots ending at its slot (coalescing) or,
        # without coalescing, starting at it: the jobs here coalesce (the default)
        slots = {key - k * step for k in range(n)}
        if kind in {"success", "error", "timeout"}:  # a history record of a run that ran
            slots = {key - k * step for k in range(int(missed) + 1)}
            covered.setdefault(job, set()).update(slots)
            continue
        kinds.update(((job, k), kind) for k in slots)
        reported.setdefault(job, set()).update(slots)
    conn = sqlite3.connect(db)
    nominal: dict[str, float | None] = dict(conn.execute("SELECT id, nominal FROM jobs").fetchall())
    conn.close()
    firsts: dict[str, int] = {}
    for line in (tmp / "firsts.txt").read_text().splitlines():
        name, _start, first_slot = line.split()
        firsts[name] = _slot_key(float(first_slot))
    due = lost = both = 0
    lost_examples: list[str] = []
    for job, first in firsts.items():
        nxt = nominal.get(job)
        if nxt is None:
            continue  # counted by the "without a future next run" check
        done = covered.get(job, set())
        rep = reported.get(job, set())
        for key in range(first, _slot_key(nxt), step):
            due += 1
            if key in rep and key in ran.get(job, set()):
                both += 1  # started, then cancelled at stop or lost after its attempts
            if key not in done and key not in rep:
                lost += 1
                if len(lost_examples) < 5:
                    lost_examples.append(f"{job}@{key / 1000:.3f}")
    return {
        "due": due,
        "lost": lost,
        "examples": lost_examples,
        "reported": Counter(kinds.values()),
        "ran_and_reported": both,
        "next_slots": [v for v in nominal.values() if v is not None],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--kill-every", type=float, default=60)
    parser.add_argument("--interval", type=float, default=10)
    parser.add_argument("--check", metavar="DIR", help="only check the files of an earlier run")
    args = parser.parse_args()
    if args.check:
        _check(Path(args.check), args.interval)
        return
    tmp = Path(tempfile.mkdtemp(prefix="aiosched-soak-"))
    db, log = tmp / "soak.db", tmp / "runs.log"
    env = {**os.environ, "SOAK_LOG": str(log)}
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import soak; soak.child()"
    rounds: list[tuple[int, str, list[float], int]] = []
    began = time.monotonic()
    end = began + args.seconds
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
        rss: list[float] = []
        life = run_for if last else args.kill_every
        for _ in range(4):  # RSS at each quarter of the process's life
            time.sleep(life / 4)
            rss.append(_rss_mib(proc.pid))
        if last:
            proc.wait(120)
            how = f"clean stop (exit {proc.returncode})"
        else:
            proc.send_signal(signal.SIGKILL)
            proc.wait(60)
            how = "SIGKILL"
        after = len(log.read_text().splitlines()) if log.exists() else 0
        rounds.append((proc.pid, how, rss, after - before))
        if last:
            break
    errors.close()
    wall = time.monotonic() - began
    print(f"{args.jobs:,} jobs every {args.interval:g} s, {args.seconds:g} s "
          f"({wall:.0f} s wall), SIGKILL every {args.kill_every:g} s; files in {tmp}")  # fmt: skip
    print("\n| process | ended by | firings logged | RSS at 1/4, 1/2, 3/4, end of life (MiB) |")
    print("|---|---|---:|---:|")
    for i, (pid, how, rss, count) in enumerate(rounds, 1):
        sampled = " / ".join(f"{v:.0f}" for v in rss)
        print(f"| {i} (pid {pid}) | {how} | {count:,} | {sampled} |")
    _check(tmp, args.interval)


def _check(tmp: Path, interval: float) -> None:
    """The checks, from the files of a run (``--check DIR`` repeats them)."""
    db, log = tmp / "soak.db", tmp / "runs.log"
    env = {**os.environ, "SOAK_LOG": str(log)}
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import soak; soak.child()"

    history = subprocess.run(
        [sys.executable, "-c", code, "child", "history", str(db)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if history.returncode:
        sys.exit(f"reading the stored history failed:\n{history.stderr}")

    entries = [line.split() for line in log.read_text().splitlines()]
    lines = [e for e in entries if e[0].startswith("j")]
    # (job, slot, missed, kind) of the reported firings, then of the stored history
    reports = [[e[1], e[2], e[5], e[6]] for e in entries if e[0] == "r"]
    reports += [[e[1], e[2], e[4], e[5]] for e in map(str.split, history.stdout.splitlines())]
    dropped = sum(int(e[1]) for e in entries if e[0] == "dropped")
    keys = Counter((job, slot, attempt) for job, slot, attempt, _, _ in lines)
    doubled = sum(1 for n in keys.values() if n > 1)
    attempts = Counter((job, slot) for job, slot, _, _, _ in lines)
    rerun = sum(1 for n in attempts.values() if n > 1)
    stops = [float(e[1]) for e in entries if e[0] == "stop"]
    conn = sqlite3.connect(db)
    (claimed,) = conn.execute("SELECT count(*) FROM firings").fetchone()
    (no_future,) = conn.execute(
        "SELECT count(*) FROM jobs WHERE nominal IS NULL OR nominal < ?", (stops[-1] - 60,)
    ).fetchone()
    lost_runs = conn.execute(
        "SELECT count(*) FROM runs WHERE instr(CAST(record AS TEXT), 'lost:') > 0"
    ).fetchone()[0]
    conn.close()
    never = _never_run(tmp, db, interval, lines, reports)
    behind = max((stops[-1] - v for v in never["next_slots"]), default=float("nan"))

    print("\n| check | value |")
    print("|---|---:|")
    print(f"| firings logged | {len(lines):,} |")
    print(f"| doubled (same job, slot, attempt twice; must be 0) | {doubled} |")
    print(f"| (job, slot) run more than once (retries, interrupted runs) | {rerun:,} |")
    print(f"| runs reported lost (crash budget used up) | {lost_runs} |")
    print(f"| claimed firings left after the clean stop (must be 0) | {claimed} |")
    print(f"| jobs without a future next run (must be 0) | {no_future} |")
    print(f"| due slots checked (first slot .. stored next slot, all jobs) | {never['due']:,} |")
    reported = ", ".join(f"{k} {v:,}" for k, v in sorted(never["reported"].items())) or "none"
    print(f"| slots reported not run, with a reason | {reported} |")
    both = never["ran_and_reported"]
    print(f"| slots started, then reported (cancelled, or lost after its attempts) | {both} |")
    print(f"| never-run slots, not reported (lost; must be 0) | {never['lost']} |")
    print(f"| events dropped by the reporting subscriber | {dropped} |")
    print(f"| latest stored next slot behind the clean stop (s) | {behind:.1f} |")
    if never["examples"]:
        print("lost, e.g.:", " ".join(never["examples"]))


if __name__ == "__main__":
    main()
