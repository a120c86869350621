"""Many processes, one schedule: throughput and lateness of the shared stores (issue 12).

    .venv/bin/python benchmarks/distributed.py                  # PostgreSQL (+ Redis if present)
    .venv/bin/python benchmarks/distributed.py --seconds 4 --jobs 30000 --stores pg

For each store and 1, 2 and 4 scheduler processes: ``--jobs`` jobs firing every second (so the
offered load is ``--jobs`` firings/s) run for ``--seconds``; the table gives the firings the
store recorded per second (claimed, run, released, fenced), the ratio to 1 process (same run),
and the lateness of the claims (server clock: claim time minus due time). Then, with 4
processes: lateness at 1,000 firings/s, and how soon a job added on one node fires on another
(the LISTEN/NOTIFY hint). Each process is a full scheduler (``python -m benchmarks.distributed
node ...``); the jobs are no-op coroutines. Loopback servers, one machine: read the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import statistics
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

from _jobs import noop  # noqa: E402 - an importable module, so stores can name it

PG_URL = os.environ.get("AIOSCHEDULER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("AIOSCHEDULER_BENCH_REDIS", "redis://127.0.0.1:6379/0")


# -- one node ----------------------------------------------------------------------------------


def make_store(kind: str, ns: str, history: int) -> Any:
    if kind == "pg":
        from aioscheduler.stores.postgres import PostgresStore

        return PostgresStore(PG_URL, schema=ns, lease=10, history_limit=history, poll=1)
    from aioscheduler.stores import store_from_url

    return store_from_url(f"{REDIS_URL}?prefix={ns}&lease=10", history_limit=history)


async def run_node(kind: str, ns: str, name: str, history: int) -> None:
    from aioscheduler import Scheduler

    scheduler = Scheduler(store=make_store(kind, ns, history), node_name=name, allow=["_jobs"])
    done = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, done.set)
    await scheduler.start()
    print("READY", flush=True)
    await done.wait()
    await scheduler.stop(timeout=1)


# -- the parent --------------------------------------------------------------------------------


def start_nodes(kind: str, ns: str, n: int, history: int) -> list[subprocess.Popen[str]]:
    procs = []
    for i in range(n):
        cmd = [sys.executable, __file__, "node", kind, ns, f"bench-{i}", str(history)]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "benchmarks")}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "READY":
            raise RuntimeError(f"node {i} did not start")
        procs.append(proc)
    return procs


def stop_nodes(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if p.stdout is not None:
            p.stdout.close()


async def add_jobs(kind: str, ns: str, count: int, start: datetime, period: float) -> None:
    """Add ``count`` jobs firing every ``period`` from ``start`` (bulk where the store allows)."""
    from aioscheduler import Every, Scheduler

    store = make_store(kind, ns, 0)
    s = Scheduler(store=store, node_name="bench-admin", allow=["_jobs"])
    trigger = Every(seconds=period, start_at=start)
    seed = (await s.add(noop, trigger, id="seed")).spec
    await s.remove("seed")
    if kind != "pg":
        for i in range(count):
            await s.add(noop, trigger, id=f"j{i}")
        await s.stop()
        return
    import asyncpg

    rows = []
    for i in range(count):
        spec = type(seed)(f"j{i}", seed.func, seed.trigger, (), {}, seed.options)
        job_id, func, payload, digest, nominal, run_at = store._row(spec, start.timestamp())
        rows.append((job_id, func, payload, digest, i + 10, False, nominal, run_at, 0))
    await s.stop()
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.copy_records_to_table("jobs", records=rows, schema_name=ns)
    finally:
        await conn.close()


async def move_due(ns: str, delta: float) -> None:
    """Shift every job's next time by ``delta`` seconds (its definition, so caches, stay)."""
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(
            f'UPDATE "{ns}".jobs SET nominal = nominal + $1, run_at = run_at + $1', delta
        )
    finally:
        await conn.close()


async def pg_claims(ns: str, since: float, until: float) -> list[tuple[float, float]]:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        rows = await conn.fetch(
            f'SELECT run_at, claimed_at FROM "{ns}".firings '
            "WHERE run AND done_at >= $1 AND done_at < $2",
            since,
            until,
        )
        return [(r[0], r[1]) for r in rows]
    finally:
        await conn.close()


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def postgres_ticks() -> dict[int, int]:
    """CPU ticks of every PostgreSQL server process of this machine, by pid."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in {"postgres", "postmaster"}:
                    out[int(entry.name)] = cpu_ticks(int(entry.name))
            except OSError:
                continue
    return out


def local_ports(pids: list[int]) -> set[int]:
    """The local TCP ports of these processes' sockets (their connections to the server)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def pg_backends(pids: list[int]) -> list[int]:
    """The server processes serving these node processes (matched by client port)."""
    import asyncpg

    ports = local_ports(pids)
    conn = await asyncpg.connect(PG_URL)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])", list(ports)
        )
        return [r[0] for r in rows]
    finally:
        await conn.close()


async def pg_drop(ns: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')
    finally:
        await conn.close()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def redis_throughput(nodes: int, jobs: int, seconds: float, history: int) -> dict[str, Any]:
    """The Redis row: the same workload; firings/s from the namespace's release counter, the
    lateness from the recorded runs (start minus scheduled time) of the first 2,000 jobs."""
    import _redis_bench as rb

    ns = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        await rb.add_jobs(REDIS_URL, ns, jobs, later, 1.0)
        procs = start_nodes("redis", ns, nodes, history)  # each loads (decodes) every job
        start = time.time() + 1.5
        await rb.move_due(REDIS_URL, ns, start - later.timestamp())
        t0 = start + 1  # leave the first second out
        await rb.sleep_until(t0)
        f0 = await rb.finished(REDIS_URL, ns)
        await rb.sleep_until(t0 + seconds)
        f1 = await rb.finished(REDIS_URL, ns)
        stop_nodes(procs)
        lag = await rb.lateness(REDIS_URL, ns, min(jobs, 2000), t0, t0 + seconds)
        return {
            "rate": (f1 - f0) / seconds,
            "p50": pct(lag, 0.5) * 1000,
            "p99": pct(lag, 0.99) * 1000,
        }
    finally:
        await rb.drop(REDIS_URL, ns)


async def throughput(
    kind: str, nodes: int, jobs: int, seconds: float, history: int
) -> dict[str, Any]:
    if kind == "redis":
        return await redis_throughput(nodes, jobs, seconds, history)
    ns = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        await add_jobs(kind, ns, jobs, later, 1.0)
        procs = start_nodes(kind, ns, nodes, history)  # each loads (decodes) every job
        start = time.time() + 1.5
        await move_due(ns, start - later.timestamp())  # the same slots, due in 1.5 s
        t0 = start + 1  # leave the first second out
        await asyncio.sleep(max(0.0, t0 - time.time()))
        server0, nodes0 = postgres_ticks(), sum(cpu_ticks(p.pid) for p in procs)
        await asyncio.sleep(max(0.0, t0 + seconds - time.time()))
        backends = await pg_backends([p.pid for p in procs])
        server1, nodes1 = postgres_ticks(), sum(cpu_ticks(p.pid) for p in procs)
        await asyncio.sleep(1.5)
        stop_nodes(procs)
        claims = await pg_claims(ns, t0, t0 + seconds)
        lag = [c - r for r, c in claims]
        tick = os.sysconf("SC_CLK_TCK")
        server = sum(server1.get(b, 0) - server0.get(b, 0) for b in backends) / tick
        every = (sum(server1.values()) - sum(server0.values())) / tick
        per = 1e6 / max(1, len(claims))
        return {
            "rate": len(claims) / seconds,
            "p50": pct(lag, 0.5) * 1000,
            "p99": pct(lag, 0.99) * 1000,
            "node_us": (nodes1 - nodes0) / tick * per,
            "server_us": server * per,
            "all_server_us": every * per,
        }
    finally:
        await pg_drop(ns)


async def hints(kind: str) -> list[float]:
    """Add one-shot jobs on an admin node while 4 nodes sleep: claim lateness, ms."""
    from aioscheduler import At, Scheduler

    ns = f"bench_{uuid.uuid4().hex[:8]}"
    if kind == "redis":
        import _redis_bench as rb

        from aioscheduler import Every

        s = Scheduler(store=make_store(kind, ns, 10), node_name="bench-admin", allow=["_jobs"])
        procs = start_nodes(kind, ns, 4, 10)
        try:
            for i in range(20):
                due = datetime.now(UTC) + timedelta(seconds=0.2)
                await s.add(noop, Every(hours=1, start_at=due), id=f"h{i}")
                await asyncio.sleep(0.3)
            await asyncio.sleep(0.5)
            return await rb.hint_lateness(REDIS_URL, ns, 20)
        finally:
            await s.stop()
            stop_nodes(procs)
            await rb.drop(REDIS_URL, ns)
    try:
        s = Scheduler(store=make_store(kind, ns, 0), node_name="bench-admin", allow=["_jobs"])
        await s.add(noop, At(datetime.now(UTC) + timedelta(days=1)), id="far")  # the schema
        procs = start_nodes(kind, ns, 4, 0)
        for i in range(20):
            await s.add(noop, At(datetime.now(UTC) + timedelta(seconds=0.2)), id=f"h{i}")
            await asyncio.sleep(0.3)
        await asyncio.sleep(0.5)
        await s.stop()
        stop_nodes(procs)
        claims = await pg_claims(ns, 0, time.time() + 3600)
        return sorted((c - r) * 1000 for r, c in claims)
    finally:
        await pg_drop(ns)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", default="pg,redis", help="comma-separated: pg, redis")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--jobs", type=int, default=30_000, help="offered firings/s")
    parser.add_argument("--history", type=int, default=10, help="history_limit of the nodes")
    parser.add_argument("--nodes", default="1,2,4", help="comma-separated process counts")
    parser.add_argument("--throughput-only", action="store_true", help="skip lateness, hints")
    args = parser.parse_args()
    print(f"# Distributed benchmark ({platform.python_version()}, {os.cpu_count()} CPUs, loopback)")
    print(f"offered load {args.jobs:,} firings/s, {args.seconds:.0f} s window, history_limit "
          f"{args.history}\n")  # fmt: skip
    for kind in args.stores.split(","):
        label = {"pg": "PostgreSQL", "redis": "Redis"}[kind]
        what = "claim" if kind == "pg" else "start"
        cpu = " nodes CPU/firing | their server CPU/firing | load |" if kind == "pg" else ""
        print(f"| store | processes | firings/s | vs 1 process | {what} lateness p50 | p99 |{cpu}")
        print("|---|---:|---:|---:|---:|---:|" + ("---:|---:|---|" if cpu else ""))
        base = None
        for n in map(int, args.nodes.split(",")):
            r = await throughput(kind, n, args.jobs, args.seconds, args.history)
            base = base or r["rate"] or 1.0
            extra = ""
            if "node_us" in r:
                extra = (f" {r['node_us']:.0f} µs | {r['server_us']:.0f} µs | "
                         f"{os.getloadavg()[0]:.1f} |")  # fmt: skip
            print(f"| {label} | {n} | {r['rate']:,.0f} | {r['rate'] / base:.2f} | "
                  f"{r['p50']:.0f} ms | {r['p99']:.0f} ms |{extra}", flush=True)  # fmt: skip
        if args.throughput_only:
            continue
        r = await throughput(kind, 4, 1000, args.seconds, args.history)
        print(f"\nLateness at 1,000 firings/s over 4 processes: p50 {r['p50']:.1f} ms, "
              f"p99 {r['p99']:.1f} ms (target < 5 / < 20 ms)")  # fmt: skip
        h = await hints(kind)
        if h:
            print(f"Job added on another node: {what}ed p50 {statistics.median(h):.1f} ms, "
                  f"max {h[-1]:.1f} ms after its time (target < 50 ms)\n")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "node":
        asyncio.run(run_node(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
    else:
        asyncio.run(main())
