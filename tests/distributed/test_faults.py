"""Fault injection with real processes on the real PostgreSQL server (issue 12).

Every test asserts on what the store recorded (the ``firings`` table: one row per claimed
slot with its final attempt and owner) and on the traces the job functions left: every slot
created once, none lost, at most one duplicate start per lost lease. Leases are 2 s; the
bounds on real time are generous (the machine is shared).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from aioscheduler import At, Every, Scheduler
from aioscheduler.stores.postgres import PostgresStore
from tests.distributed import jobs, privatepg
from tests.distributed.harness import cluster, firings, query, settled, until
from tests.distributed.proxy import Proxy
from tests.pg_support import PG_URL

pytestmark = pytest.mark.slow

LEASE = 2.0


async def admin(schema: str, url: str = PG_URL) -> Scheduler:
    """A scheduler that is never started: the test's handle for adding jobs."""
    return Scheduler(
        store=PostgresStore(url, schema=schema, lease=LEASE), node_name="admin", allow=["tests"]
    )


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def test_killed_node_s_run_is_rerun_elsewhere_within_one_lease(
    pg_schema: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with cluster(PG_URL, pg_schema, tmp_path, LEASE) as c:
        a = c.start("a")
        s = await admin(pg_schema)
        await s.add(jobs.slow, At(soon(0.5)), id="slow", args=(3.0, log))
        await until(lambda: jobs.read(log), 10, "the first start")
        [(_, _, slot, attempt, first, _)] = jobs.read(log)
        assert (attempt, first) == (1, "a")
        c.start("b")
        killed = time.time()
        a.kill()
        await until(lambda: any(e[0] == "end" for e in jobs.read(log)), 15, "the re-run")
        await s.stop()
        [row] = await settled(PG_URL, pg_schema, 1, 10)
    starts = [e for e in jobs.read(log) if e[0] == "start"]
    assert [(e[3], e[4]) for e in starts] == [(1, "a"), (2, "b")], "one duplicate start"
    assert starts[1][5] - killed < LEASE + 1.5, "taken over within about one lease"
    assert (row["slot"], row["attempt"], row["node"]) == (slot, 2, "b")
    assert row["done_at"] is not None


async def test_an_at_most_once_firing_of_a_killed_node_is_reported_lost_not_rerun(
    pg_schema: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with cluster(PG_URL, pg_schema, tmp_path, LEASE) as c:
        a = c.start("a")
        c.start("b")
        s = await admin(pg_schema)
        await s.add(jobs.slow, At(soon(0.5)), id="once", args=(3.0, log), delivery="at-most-once")
        await until(lambda: jobs.read(log), 10, "the first start")
        first = jobs.read(log)[0][4]
        (a if first == "a" else c.nodes[1]).kill()
        [row] = await settled(PG_URL, pg_schema, 1, 15)
        await s.stop()
    assert [e[0] for e in jobs.read(log)] == ["start"], "never started again"
    assert (row["attempt"], row["run"]) == (2, True) and row["node"] != first
    assert row["done_at"] is not None


async def test_graceful_stop_hands_running_firings_over_at_once(
    pg_schema: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with cluster(PG_URL, pg_schema, tmp_path, LEASE) as c:
        a = c.start("a", stop_timeout=0.1)
        s = await admin(pg_schema)
        await s.add(jobs.slow, At(soon(0.3)), id="slow", args=(1.5, log))
        await until(lambda: jobs.read(log), 10, "the first start")
        c.start("b")
        stopped = time.time()
        a.stop()
        await until(lambda: any(e[0] == "end" for e in jobs.read(log)), 10, "the re-run")
        await s.stop()
        [row] = await settled(PG_URL, pg_schema, 1, 10)
    trace = jobs.read(log)
    assert [(e[0], e[3], e[4]) for e in trace] == [
        ("start", 1, "a"), ("cancel", 1, "a"), ("start", 2, "b"), ("end", 2, "b")
    ]  # fmt: skip
    assert trace[2][5] - stopped < LEASE / 2 + 1.0, "released, not left to expire"
    assert (row["attempt"], row["node"]) == (2, "b") and row["done_at"] is not None


async def test_frozen_node_is_fenced_and_its_late_completion_refused(
    pg_schema: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with cluster(PG_URL, pg_schema, tmp_path, LEASE) as c:
        a = c.start("a")
        c.start("b")
        s = await admin(pg_schema)
        await s.add(jobs.slow, At(soon(0.3)), id="slow", args=(2.0, log))
        await until(lambda: jobs.read(log), 10, "the first start")
        first = jobs.read(log)[0][4]
        frozen = a if first == "a" else c.nodes[1]
        frozen.signal(signal.SIGSTOP)
        await until(lambda: len(jobs.read(log)) >= 2, 15, "the takeover")
        frozen.signal(signal.SIGCONT)
        await until(
            lambda: sum(e[0] in ("end", "cancel") for e in jobs.read(log)) >= 2, 15, "both ends"
        )
        stats = frozen.stop()
        await s.stop()
        [row] = await settled(PG_URL, pg_schema, 1, 10)
    trace = jobs.read(log)
    assert [e[0] for e in trace if e[3] == 2] == ["start", "end"]
    assert sum(e[0] == "start" for e in trace) == 2, "one duplicate start for one lost lease"
    assert stats["lost"] >= 1, "the frozen node noticed it lost the lease"
    [row] = await settled(PG_URL, pg_schema, 1, 10)
    assert row["attempt"] == 2 and row["node"] != first and row["done_at"] is not None


async def test_two_nodes_with_one_name_share_the_work_without_stealing(
    pg_schema: str, tmp_path: Path
) -> None:
    with cluster(PG_URL, pg_schema, tmp_path, LEASE) as c:
        nodes = [c.start("same"), c.start("same")]
        s = await admin(pg_schema)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        for i in range(40):
            await s.add(jobs.noop, Every(seconds=0.5, start_at=start), id=f"j{i}")
        await until(lambda: time.time() > start.timestamp() + 3.2, 10, "a few rounds")
        await s.remove_all() if hasattr(s, "remove_all") else None
        stats = [n.stop() for n in nodes]
        await s.stop()
    rows = await firings(PG_URL, pg_schema)
    assert len(rows) >= 40 * 5
    assert {r["attempt"] for r in rows} == {1}, "no live work was taken over"
    assert len({r["owner"] for r in rows}) == 2, "two incarnations"
    assert all(st["stale"] == 0 and st["lost"] == 0 for st in stats)
    assert all(r["done_at"] is not None for r in rows)


async def test_partitioned_node_fences_itself_before_its_lease_expires(
    pg_schema: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with Proxy("127.0.0.1", 5432) as proxy, cluster(PG_URL, pg_schema, tmp_path, LEASE) as c:
        a = c.start("a", url=PG_URL.replace(":5432", f":{proxy.port}"))
        s = await admin(pg_schema)
        await s.add(jobs.slow, At(soon(0.3)), id="slow", args=(4.0, log))
        await until(lambda: jobs.read(log), 10, "the first start")
        c.start("b")
        proxy.set("blackhole")
        await until(lambda: len(jobs.read(log)) >= 3, 15, "the fence and the takeover")
        proxy.set("pass")
        await until(lambda: any(e[0] == "end" for e in jobs.read(log)), 15, "the re-run")
        [row] = await settled(PG_URL, pg_schema, 1, 15)
        await s.stop()
        stats = a.stop()
    trace = jobs.read(log)
    assert [(e[0], e[3], e[4]) for e in trace] == [
        ("start", 1, "a"), ("cancel", 1, "a"), ("start", 2, "b"), ("end", 2, "b")
    ]  # fmt: skip
    assert trace[1][5] < trace[2][5], "a stopped its run before b could start it"
    assert stats["lost"] == 1
    assert (row["attempt"], row["node"]) == (2, "b")
    assert "store unavailable" in a.log() and a.log().count("store unavailable") == 1


@pytest.mark.parametrize("skew", [3600.0, -3600.0], ids=["ahead-1h", "behind-1h"])
async def test_a_node_whose_clock_is_an_hour_off_fires_neither_early_nor_late(
    pg_schema: str, tmp_path: Path, skew: float
) -> None:
    log = str(tmp_path / "trace")
    with cluster(PG_URL, pg_schema, tmp_path, LEASE) as c:
        node = c.start("skewed", skew=skew)
        s = await admin(pg_schema)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
        for i in range(5):
            await s.add(jobs.stamp, Every(seconds=0.5, start_at=start), id=f"j{i}", args=(log,))
        await until(lambda: time.time() > start.timestamp() + 2.2, 10, "a few rounds")
        await s.stop()
        node.stop()
    trace = jobs.read(log)
    assert len(trace) >= 5 * 4
    keys = [(e[1], e[2]) for e in trace]
    assert len(keys) == len(set(keys)), "no slot ran twice"
    lateness = sorted(e[5] - e[2] for e in trace)
    assert lateness[0] >= -0.005, f"fired early: {lateness[0]:.3f} s"
    assert lateness[len(lateness) // 2] < 0.25, f"median lateness {lateness} s"


async def test_a_commit_whose_reply_is_lost_runs_once_after_the_lease(
    pg_schema: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with Proxy("127.0.0.1", 5432) as proxy, cluster(PG_URL, pg_schema, tmp_path, LEASE) as c:
        c.start("a", url=PG_URL.replace(":5432", f":{proxy.port}"), poll=60, timeout=1.0)
        s = await admin(pg_schema)
        due = soon(1.5)
        await s.add(jobs.stamp, At(due), id="once", args=(log,))
        await until(lambda: time.time() > due.timestamp() - 0.3, 5, "just before the claim")
        proxy.set("drop_after_commit")
        await until(lambda: time.time() > due.timestamp() + 1.5, 5, "the claim to time out")
        proxy.set("pass")
        [row] = await settled(PG_URL, pg_schema, 1, 15)
        await s.stop()
    starts = jobs.read(log)
    assert len(starts) == 1, "the firing ran once"
    assert row["attempt"] == starts[0][3]
    assert row["attempt"] == 2, "the claim committed unseen; it ran after its lease, attempt 2"


async def test_four_nodes_share_ten_thousand_firings_due_at_once_despite_kill_and_freeze(
    pg_schema: str, tmp_path: Path
) -> None:
    n = 10_000
    with cluster(PG_URL, pg_schema, tmp_path, LEASE) as c:
        nodes = [c.start(f"n{i}") for i in range(4)]
        due = time.time() + 4
        await bulk_add(pg_schema, n, due)
        await until(lambda: time.time() > due + 0.2, 10, "the storm")
        nodes[2].signal(signal.SIGSTOP)  # frozen, likely inside a claim transaction
        nodes[3].kill()
        await asyncio.sleep(LEASE + 1)  # its rows are freed by the server's idle timeout
        nodes[2].signal(signal.SIGCONT)
        rows = await settled(PG_URL, pg_schema, n, 60)
        for node in nodes[:3]:
            node.stop()
    assert len(rows) == n and len({r["job_id"] for r in rows}) == n, "each slot once"
    assert {r["attempt"] for r in rows} <= {1, 2}
    per_node = {name: sum(r["node"] == name for r in rows) for name in ("n0", "n1")}
    assert all(count > n // 20 for count in per_node.values()), per_node
    lag = sorted(r["claimed_at"] - due for r in rows if r["attempt"] == 1)
    assert lag[0] >= 0, "nothing claimed before it was due"


async def bulk_add(schema: str, n: int, due: float) -> None:
    """Add ``n`` one-shot jobs due at ``due`` in one COPY (adding one by one takes long)."""
    store = PostgresStore(PG_URL, schema=schema, lease=LEASE)
    s = Scheduler(store=store, node_name="admin", allow=["tests"])
    seed = (await s.add(jobs.noop, At(datetime.fromtimestamp(due, UTC)), id="seed")).spec
    await s.remove("seed")
    rows = []
    for i in range(n):
        spec = type(seed)(f"j{i}", seed.func, seed.trigger, (), {}, seed.options)
        job_id, func, payload, digest, nominal, run_at = store._row(spec, due)
        rows.append((job_id, func, payload, digest, i + 10, False, nominal, run_at, 0))
    await s.stop()
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.copy_records_to_table("jobs", records=rows, schema_name=schema)
    finally:
        await conn.close()


async def test_server_restart_is_an_outage_logged_once_and_survived(tmp_path: Path) -> None:
    problem = privatepg.available()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs a private PostgreSQL cluster: {problem}")
        pytest.skip(problem)
    with privatepg.private_pg() as pg, cluster(pg.url, "restart", tmp_path, LEASE) as c:
        node = c.start("a")
        s = Scheduler(
            store=PostgresStore(pg.url, schema="restart"), node_name="admin", allow=["tests"]
        )
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        for i in range(5):
            await s.add(jobs.noop, Every(seconds=0.5, start_at=start), id=f"j{i}")
        await s.stop()
        await until(lambda: time.time() > start.timestamp() + 1.5, 10, "a few rounds")
        pg.stop()
        down = time.time()
        await until(lambda: time.time() > down + 2 * LEASE, 10, "two leases of outage")
        assert node.proc.poll() is None, "the scheduler survives the outage"
        pg.start()
        up = time.time()
        rows = await until_rows(pg.url, lambda rs: any(r["claimed_at"] > up for r in rs))
        stats = node.stop()
    log = node.log()
    assert log.count("store unavailable") == 1, log
    assert log.count("store available again") == 1, log
    assert stats["stale"] == 0
    assert len({(r["job_id"], r["slot"]) for r in rows}) == len(rows)
    after = [r for r in rows if r["claimed_at"] > up]
    assert {r["job_id"] for r in after} == {f"j{i}" for i in range(5)}, "every job resumed"


async def until_rows(url: str, ok: Any, timeout: float = 15) -> list[asyncpg.Record]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            rows = await query(url, 'SELECT * FROM "restart".firings')
            if ok(rows):
                return rows
        except (OSError, asyncpg.PostgresError):
            pass
        assert time.monotonic() < deadline, "the node did not resume"
        await asyncio.sleep(0.2)


async def test_nothing_of_a_removed_job_is_claimed_or_started_after_remove_returns(
    pg_schema: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with cluster(PG_URL, pg_schema, tmp_path, LEASE) as c:
        nodes = [c.start("a"), c.start("b")]
        s = await admin(pg_schema)
        start = datetime.now(UTC) + timedelta(seconds=0.5)
        for i in range(20):
            await s.add(jobs.stamp, Every(seconds=0.1, start_at=start), id=f"j{i}", args=(log,))
        await until(lambda: len({e[1] for e in jobs.read(log)}) == 20, 10, "every job firing")
        removed: dict[str, float] = {}
        for i in range(0, 20, 2):  # while both nodes claim every 0.1 s
            await s.remove(f"j{i}")
            [row] = await query(PG_URL, "SELECT extract(epoch FROM clock_timestamp())::float8")
            removed[f"j{i}"] = row[0]
        last = max(removed.values())
        await until(lambda: time.time() > last + 1.0, 10, "ten more rounds")
        left = [r["id"] for r in await query(PG_URL, f'SELECT id FROM "{pg_schema}".jobs')]
        await s.stop()
        for node in nodes:
            node.stop()
    rows = await firings(PG_URL, pg_schema)
    late = [r for r in rows if r["job_id"] in removed and r["claimed_at"] > removed[r["job_id"]]]
    assert late == [], "a removed job's firing was created after remove() returned"
    trace = jobs.read(log)
    ghost = [e for e in trace if e[1] in removed and e[2] > removed[e[1]]]
    assert ghost == [], "a slot due after remove() returned was started"
    assert sorted(left) == sorted(f"j{i}" for i in range(1, 20, 2)), "only the removed are gone"
    alive = {e[1] for e in trace if e[2] > last + 0.3}
    assert alive == set(left), "the other jobs kept firing"
    assert len({(r["job_id"], r["slot"]) for r in rows}) == len(rows)


async def test_a_node_killed_inside_its_claim_loses_no_slot_and_creates_none_twice(
    pg_schema: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    n = 50
    with Proxy("127.0.0.1", 5432) as proxy, cluster(PG_URL, pg_schema, tmp_path, LEASE) as c:
        a = c.start("a", url=PG_URL.replace(":5432", f":{proxy.port}"), poll=60, timeout=1.0)
        s = await admin(pg_schema)
        due = soon(3.0)
        for i in range(n):
            await s.add(jobs.stamp, At(due), id=f"j{i}", args=(log,))
        await until(lambda: time.time() > due.timestamp() - 0.3, 5, "just before the claim")
        assert await firings(PG_URL, pg_schema) == [], "set-up too slow: claimed before the cut"
        proxy.set("drop_after_commit")  # the claim commits; a never hears of it
        deadline = time.monotonic() + 10
        while not (claimed := await firings(PG_URL, pg_schema)):
            assert time.monotonic() < deadline, "a never claimed"
            await asyncio.sleep(0.05)
        c.start("b")
        a.kill()  # SIGKILL: a is still waiting for its claim's reply
        rows = await settled(PG_URL, pg_schema, n, 15)
        await s.stop()
    by_a = {r["job_id"] for r in claimed}
    assert {r["node"] for r in claimed} == {"a"} and {r["attempt"] for r in claimed} == {1}
    assert len(rows) == n and len({r["job_id"] for r in rows}) == n, "each slot created once"
    assert all(r["node"] == "b" and r["done_at"] is not None for r in rows), "run by b"
    assert {r["job_id"]: r["attempt"] for r in rows} == {
        f"j{i}": 2 if f"j{i}" in by_a else 1 for i in range(n)
    }, "attempt counted up exactly where a's lease was taken over"
    trace = jobs.read(log)
    assert sorted(e[1] for e in trace) == sorted(f"j{i}" for i in range(n)), "each ran once"
    assert {(e[1], e[3], e[4]) for e in trace} == {(r["job_id"], r["attempt"], "b") for r in rows}
