"""Distributed benchmark, Redis rows: firings/s with 1, 2 and 4 scheduler processes, lateness
at 1,000 firings/s over 4 nodes, and a job added on one node firing on another.

    .venv/bin/python benchmarks/distributed_redis.py [--url redis://127.0.0.1:6379/0] [--n 40000]

Throughput: ``n`` one-shot no-op jobs are written due at one instant; every node (a real
``Scheduler`` on a ``RedisStore`` in its own process) claims, runs and records them; the rate
is ``n`` over the time from the due instant until the last one is recorded. The baseline,
measured in the same run, is the bare store loop (claim 100, release them) with the same
number of processes: the ratio is what the engine costs. Each firing is created once: the
namespace's ``claimed`` counter must equal ``n``. Uses a fresh key prefix, deleted after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import redis.asyncio as aioredis  # noqa: E402
from _redis_bench import add_jobs, counters, drop, start_lateness  # noqa: E402

from aioscheduler import Every, Scheduler  # noqa: E402
from aioscheduler.stores.redis import RedisStore  # noqa: E402
from aioscheduler.testing.conformance import conformance_job  # noqa: E402


async def bulk_add(url: str, prefix: str, n: int, due: float, every: float | None = None) -> None:
    """Write ``n`` no-op jobs due at ``due`` (one-shot, or every ``every`` seconds)."""
    when = datetime.fromtimestamp(due, UTC)
    await add_jobs(url, prefix, n, when, every, conformance_job)


def start_nodes(
    url: str, prefix: str, count: int, mode: str, history: int = 1
) -> list[subprocess.Popen[str]]:
    procs = []
    for i in range(count):
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "_redis_node.py"), url, prefix, f"n{i}",
             mode, str(history)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
        procs.append(proc)
    return procs


def node_stats(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    """Stop the nodes; what each printed (firings claimed, script calls)."""
    for proc in procs:
        proc.terminate()
    out = []
    for proc in procs:
        text, _ = proc.communicate(timeout=30)
        out.append(json.loads(text.strip().splitlines()[-1]))
    return out


def stop_nodes(procs: list[subprocess.Popen[str]]) -> list[int]:
    return [stats["claims"] for stats in node_stats(procs)]


async def recurring(
    url: str, nodes: int, n: int, mode: str, every: float = 0.5, window: float = 4.0
) -> dict[str, Any]:
    """``n`` jobs every ``every`` s (offered: n / every per second, more than the nodes can
    run: each lap coalesces what it missed): firings created per second over ``window``."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    procs = start_nodes(url, prefix, nodes, mode)
    try:
        start = time.time() + 2.0 + n / 40_000
        await bulk_add(url, prefix, n, start, every)
        await asyncio.sleep(start + 1.5 - time.time())  # a first lap decodes the definitions
        _, c0, _ = await counters(url, prefix)
        t0 = time.perf_counter()
        await asyncio.sleep(window)
        _, c1, _ = await counters(url, prefix)
        rate = (c1 - c0) / (time.perf_counter() - t0)
        per_node = stop_nodes(procs)
        done, claimed, leased = await counters(url, prefix)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        await drop(url, prefix)
    # every firing created was run and released once, or is still leased
    return {"rate": rate, "once": claimed == done + leased, "per_node": per_node}


async def storm(url: str, nodes: int, n: int, mode: str) -> dict[str, Any]:
    """``n`` one-shot jobs due at one instant: each node also decodes every definition."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    procs = start_nodes(url, prefix, nodes, mode)
    try:
        due = time.time() + 2.0 + n / 40_000
        await bulk_add(url, prefix, n, due)
        while time.time() < due:
            await asyncio.sleep(0.01)
        deadline = due + 120
        while True:
            done, claimed, _ = await counters(url, prefix)
            if done >= n or time.time() > deadline:
                break
            await asyncio.sleep(0.01)
        elapsed = time.time() - due
        per_node = stop_nodes(procs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        await drop(url, prefix)
    return {"rate": done / elapsed, "done": done, "claimed": claimed, "per_node": per_node}


def cpu_seconds(procs: list[subprocess.Popen[str]]) -> float:
    """User + system CPU time the processes used so far (Linux ``/proc``; 0 elsewhere)."""
    total = 0
    for proc in procs:
        try:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


async def lateness(
    url: str, rate: int = 1000, seconds: float = 6.0, nodes: int = 4
) -> dict[str, float]:
    """``rate`` Every(1 s) jobs spread over each second, on 4 nodes: start minus due time of
    the runs due in ``seconds`` of steady state, which begins one lap after the last job was
    added (the lap in which each node decodes every definition once); the nodes' CPU time
    per firing over that window; and the p99 of every run, warm-up included."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    procs = start_nodes(url, prefix, nodes, "scheduler", history=20)
    admin = Scheduler(
        store=RedisStore(url, prefix=prefix, history_limit=20),
        node_name="admin",
        allow=["aioscheduler.testing"],
    )
    try:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
        for i in range(rate):
            offset = timedelta(seconds=i / rate)
            await admin.add(conformance_job, Every(seconds=1, start_at=start + offset), id=f"l{i}")
        steady = max(start.timestamp(), time.time()) + 1.0
        await asyncio.sleep(steady - time.time())
        cpu0 = cpu_seconds(procs)
        await asyncio.sleep(seconds)
        cpu = cpu_seconds(procs) - cpu0
        for i in range(rate):
            await admin.pause(f"l{i}")
        await asyncio.sleep(1.0)
        runs = [
            (r.scheduled_at.timestamp(), (r.started_at - r.scheduled_at).total_seconds())
            for job in await admin.jobs()
            for r in job.history
            if r.started_at is not None
        ]
    finally:
        stats = node_stats(procs)
        await admin.stop()
        await drop(url, prefix)
    late = sorted(lag for at, lag in runs if steady <= at < steady + seconds)
    every = sorted(lag for _, lag in runs)
    calls = {name: sum(st["calls"][name] for st in stats) for name in ("READ", "CLAIM", "RELEASE")}
    return {
        "count": len(late),
        "p50": late[len(late) // 2] * 1000,
        "p99": late[int(len(late) * 0.99)] * 1000,
        "p99_all": every[int(len(every) * 0.99)] * 1000,
        "cpu_ms": cpu * 1000 / max(1, len(late)),
        **{f"{name.lower()}s": n / max(1, len(every)) for name, n in calls.items()},
    }


async def cross_node(url: str, rounds: int = 20) -> dict[str, float]:
    """A job added on node A (this process) fires on node B (poll 0.5 s) after the hint."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    procs = start_nodes(url, prefix, 1, "scheduler")
    admin = Scheduler(
        store=RedisStore(url, prefix=prefix), node_name="a", allow=["aioscheduler.testing"]
    )
    late = []
    try:
        for i in range(rounds):
            due = datetime.now(UTC) + timedelta(seconds=0.3 + (i % 7) * 0.013)
            await admin.add(conformance_job, Every(hours=1, start_at=due), id=f"x{i}")
            await asyncio.sleep(0.6)
        await asyncio.sleep(0.5)
        client = aioredis.from_url(url)
        try:
            # finished firings are remembered by slot; the run records carry the start times
            for i in range(rounds):
                records = await client.lrange(f"{{{prefix}}}:h:x{i}", 0, -1)
                late += [start_lateness(r) for r in records]
        finally:
            await client.aclose()
    finally:
        stop_nodes(procs)
        await admin.stop()
        await drop(url, prefix)
    late.sort()
    return {"count": len(late), "p50": late[len(late) // 2] * 1000, "max": late[-1] * 1000}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--url", default=os.environ.get("AIOSCHEDULER_BENCH_REDIS", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--nodes", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--only", choices=["lateness"], help="run only this part")
    parser.add_argument("--repeat", type=int, default=1, help="with --only: how many runs")
    args = parser.parse_args()
    if args.only == "lateness":
        for _ in range(args.repeat):
            for nodes in args.nodes:
                lat = await lateness(args.url, nodes=nodes)
                print(json.dumps({"nodes": nodes, **{k: round(v, 2) for k, v in lat.items()}}))
        return
    print(f"Redis distributed benchmark: n={args.n}, {os.cpu_count()} CPUs, {args.url}\n")
    print("Recurring: 20,000 jobs every 0.5 s (40,000/s offered); firings created per second")
    print("over 4 s, after a first lap. Baseline: the bare store loop (claim 100, release).\n")
    print("| nodes | scheduler firings/s | bare store loop | scheduler / bare | each slot once |")
    print("|---|---|---|---|---|")
    for nodes in args.nodes:
        full = await recurring(args.url, nodes, 20_000, "scheduler")
        bare = await recurring(args.url, nodes, 20_000, "store")
        once = "yes" if full["once"] and bare["once"] else "NO"
        print(
            f"| {nodes} | {full['rate']:,.0f} | {bare['rate']:,.0f} | "
            f"{full['rate'] / bare['rate']:.2f}x | {once} |"
        )
    print(f"\nStorm: {args.n:,} one-shot jobs due at one instant, until all are recorded.\n")
    print("| nodes | scheduler firings/s | bare store loop | scheduler / bare | each slot once |")
    print("|---|---|---|---|---|")
    for nodes in args.nodes:
        full = await storm(args.url, nodes, args.n, "scheduler")
        bare = await storm(args.url, nodes, args.n, "store")
        once = full["claimed"] == full["done"] == args.n and bare["claimed"] == args.n
        print(
            f"| {nodes} | {full['rate']:,.0f} | {bare['rate']:,.0f} | "
            f"{full['rate'] / bare['rate']:.2f}x | {'yes' if once else 'NO'} |"
        )
    lat = await lateness(args.url)
    print(
        f"\nlateness at 1,000 firings/s over 4 nodes, steady state ({lat['count']:.0f} runs): "
        f"p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms (targets: < 5 ms, < 20 ms); "
        f"p99 with the warm-up lap {lat['p99_all']:.1f} ms; node CPU {lat['cpu_ms']:.2f} ms "
        "per firing (4 nodes together)"
    )
    cross = await cross_node(args.url)
    print(
        f"added on node A, fired on node B ({cross['count']:.0f} jobs): "
        f"p50 {cross['p50']:.1f} ms, max {cross['max']:.1f} ms after its time (target 50 ms)"
    )


if __name__ == "__main__":
    asyncio.run(main())
