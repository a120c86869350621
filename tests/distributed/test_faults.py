"""Fault injection with real processes on the real PostgreSQL and Redis servers (issue 12).

Every scenario runs on both stores (``shared``: one fresh namespace, a schema or a key prefix).
Every test asserts on what the store recorded (:class:`~tests.distributed.backends.Recorded`:
firings created, taken over, finished, still leased; PostgreSQL's per-firing rows where it has
them) and on the traces the job functions left: every slot created once, none lost, at most
one duplicate start per lost lease. Bounds on real time are generous (the machine is shared).
The shared servers are never restarted or flushed: the restart test runs its own server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aioscheduler import At, Every
from tests.distributed import jobs, privateredis
from tests.distributed.backends import Redis, Shared, by_node
from tests.distributed.harness import cluster, until
from tests.distributed.proxy import Proxy

pytestmark = pytest.mark.slow


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def starts(log: str) -> list[tuple[str, str, float, int, str, float]]:
    return [e for e in jobs.read(log) if e[0] == "start"]


def other(name: str) -> str:
    return "b" if name == "a" else "a"


async def test_killed_node_s_run_is_rerun_elsewhere_within_one_lease(
    shared: Shared, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with cluster(shared.url, shared.ns, tmp_path, shared.lease) as c:
        c.start("a")
        c.start("b")
        s = shared.admin()
        await s.add(jobs.slow, At(soon(0.5)), id="slow", args=(3.0, log))
        await until(lambda: jobs.read(log), 10, "the first start")
        first, slot = jobs.read(log)[0][4], jobs.read(log)[0][2]
        killed = time.time()
        c.named(first).kill()
        await until(lambda: any(e[0] == "end" for e in jobs.read(log)), 15, "the re-run")
        got = await shared.settled(1, 10)
        await s.stop()
    trace = starts(log)
    assert [(e[3], e[4]) for e in trace] == [(1, first), (2, other(first))], "one duplicate"
    assert trace[1][5] - killed < shared.lease + 1.5, "taken over within about one lease"
    assert (got.claimed, got.takeovers, got.finished, got.refused or 0) == (1, 1, 1, 0)
    assert [(r.slot, r.attempt, r.node) for r in got.rows] in ([], [(slot, 2, other(first))])


async def test_an_at_most_once_firing_of_a_killed_node_is_reported_lost_not_rerun(
    shared: Shared, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with cluster(shared.url, shared.ns, tmp_path, shared.lease) as c:
        c.start("a")
        c.start("b")
        s = shared.admin()
        await s.add(jobs.slow, At(soon(0.5)), id="once", args=(3.0, log), delivery="at-most-once")
        await until(lambda: jobs.read(log), 10, "the first start")
        first = jobs.read(log)[0][4]
        c.named(first).kill()
        got = await shared.wait(lambda r: r.takeovers == 1 and r.leased == 0, 15)
        await s.stop()
    assert [e[0] for e in jobs.read(log)] == ["start"], "never started again"
    if got.rows:  # PostgreSQL keeps the firing, settled by the node that found it lost
        assert [(r.attempt, r.node, r.done) for r in got.rows] == [(2, other(first), True)]
    else:  # Redis forgets it when taken over, without a run to record
        assert (got.claimed, got.finished, got.refused) == (1, 0, 0)


async def test_graceful_stop_hands_running_firings_over_at_once(
    shared: Shared, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with cluster(shared.url, shared.ns, tmp_path, 5.0) as c:
        c.start("a", stop_timeout=0.1)
        c.start("b", stop_timeout=0.1)
        s = shared.admin()
        await s.add(jobs.slow, At(soon(0.3)), id="slow", args=(1.5, log))
        await until(lambda: jobs.read(log), 10, "the first start")
        first = jobs.read(log)[0][4]
        stopped = time.time()
        c.named(first).stop()
        await until(lambda: any(e[0] == "end" for e in jobs.read(log)), 10, "the re-run")
        got = await shared.settled(1, 10)
        await s.stop()
    trace = jobs.read(log)
    second = other(first)
    assert [(e[0], e[3], e[4]) for e in trace] == [
        ("start", 1, first), ("cancel", 1, first), ("start", 2, second), ("end", 2, second)
    ]  # fmt: skip
    assert trace[2][5] - stopped < 2.5, "released at stop, not left to expire (lease 5 s)"
    assert (got.claimed, got.takeovers) == (1, 1)


async def test_frozen_node_is_fenced_and_its_late_completion_refused(
    shared: Shared, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with cluster(shared.url, shared.ns, tmp_path, shared.lease) as c:
        c.start("a")
        c.start("b")
        s = shared.admin()
        await s.add(jobs.slow, At(soon(0.3)), id="slow", args=(shared.lease + 0.5, log))
        await until(lambda: jobs.read(log), 10, "the first start")
        first = jobs.read(log)[0][4]
        frozen = c.named(first)
        frozen.signal(signal.SIGSTOP)
        await until(lambda: len(starts(log)) >= 2, 15, "the takeover")
        frozen.signal(signal.SIGCONT)
        await until(
            lambda: sum(e[0] in ("end", "cancel") for e in jobs.read(log)) >= 2, 15, "both ends"
        )
        stats = frozen.stop()
        got = await shared.settled(1, 10)
        await s.stop()
    trace = jobs.read(log)
    assert [e[0] for e in trace if e[3] == 2] == ["start", "end"]
    assert len(starts(log)) == 2, "one duplicate start for one lost lease"
    assert stats["lost"] + stats["stale"] >= 1, "the frozen node learnt it lost the lease"
    assert (got.claimed, got.takeovers) == (1, 1)
    assert got.refused in (None, stats["stale"]), "a late completion is refused and counted"
    assert all((r.attempt, r.node) == (2, other(first)) for r in got.rows)


async def test_two_nodes_with_one_name_share_the_work_without_stealing(
    shared: Shared, tmp_path: Path
) -> None:
    with cluster(shared.url, shared.ns, tmp_path, 2.0) as c:
        nodes = [c.start("same"), c.start("same")]
        s = shared.admin()
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        for i in range(40):
            await s.add(jobs.noop, Every(seconds=0.5, start_at=start), id=f"j{i}")
        await until(lambda: time.time() > start.timestamp() + 3.2, 10, "a few rounds")
        await s.stop()
        stats = [n.stop() for n in nodes]
        got = await shared.settled(40 * 5, 10)
    assert got.takeovers == 0 and not got.refused, "no live work was taken over"
    assert all(st["stale"] == 0 and st["lost"] == 0 for st in stats)
    owners = {r.owner for r in got.rows} or {str(i) for i, st in enumerate(stats) if st["claims"]}
    assert len(owners) == 2, "two incarnations, both ran firings"


async def test_partitioned_node_fences_itself_before_its_lease_expires(
    shared: Shared, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with (
        Proxy("127.0.0.1", shared.port) as proxy,
        cluster(shared.url, shared.ns, tmp_path, 2.0) as c,
    ):
        a = c.start("a", url=shared.via(proxy))
        s = shared.admin()
        await s.add(jobs.slow, At(soon(0.3)), id="slow", args=(4.0, log))
        await until(lambda: jobs.read(log), 10, "the first start")
        c.start("b")
        proxy.set("blackhole")
        await until(lambda: len(jobs.read(log)) >= 3, 15, "the fence and the takeover")
        proxy.set("pass")
        await until(lambda: any(e[0] == "end" for e in jobs.read(log)), 15, "the re-run")
        got = await shared.settled(1, 15)
        await s.stop()
        stats = a.stop()
    trace = jobs.read(log)
    assert [(e[0], e[3], e[4]) for e in trace] == [
        ("start", 1, "a"), ("cancel", 1, "a"), ("start", 2, "b"), ("end", 2, "b")
    ]  # fmt: skip
    assert trace[1][5] < trace[2][5], "a stopped its run before b could start it"
    assert stats["lost"] == 1
    assert (got.claimed, got.takeovers) == (1, 1)
    assert a.log().count("store unavailable") == 1, a.log()


@pytest.mark.parametrize("skew", [3600.0, -3600.0], ids=["ahead-1h", "behind-1h"])
async def test_a_node_whose_clock_is_an_hour_off_fires_neither_early_nor_late(
    shared: Shared, tmp_path: Path, skew: float
) -> None:
    log = str(tmp_path / "trace")
    with cluster(shared.url, shared.ns, tmp_path, shared.lease) as c:
        node = c.start("skewed", skew=skew)
        s = shared.admin()
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


async def test_a_claim_whose_reply_is_lost_runs_once_after_the_lease(
    shared: Shared, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with (
        Proxy("127.0.0.1", shared.port) as proxy,
        cluster(shared.url, shared.ns, tmp_path, shared.lease) as c,
    ):
        opts = await shared.lose_claim_replies(proxy)
        c.start("a", url=shared.via(proxy), poll=60, **opts)
        s = shared.admin()
        due = soon(1.5)
        await s.add(jobs.stamp, At(due), id="doomed", args=(log,))
        await until(lambda: time.time() > due.timestamp() - 0.3, 5, "just before the claim")
        proxy.set("drop_after_commit")
        await until(lambda: time.time() > due.timestamp() + 1.5, 5, "the claim to time out")
        proxy.set("pass")
        got = await shared.settled(1, 15)
        await s.stop()
    trace = jobs.read(log)
    assert len(trace) == 1, "the firing ran once"
    assert trace[0][3] == 2, "the claim was applied unseen; it ran after its lease, attempt 2"
    assert (got.claimed, got.takeovers) == (1, 1)


async def test_four_nodes_share_ten_thousand_firings_due_at_once_despite_kill_and_freeze(
    shared: Shared, tmp_path: Path
) -> None:
    n = 10_000
    with cluster(shared.url, shared.ns, tmp_path, 2.0) as c:
        nodes = [c.start(f"n{i}") for i in range(4)]
        due = time.time() + 4
        await shared.bulk_add(n, due)
        await until(lambda: time.time() > due + 0.2, 10, "the storm")
        nodes[2].signal(signal.SIGSTOP)  # frozen, likely inside a claim
        nodes[3].kill()
        await asyncio.sleep(2.0 + 1)  # its leases run out (PostgreSQL: its locks are freed)
        nodes[2].signal(signal.SIGCONT)
        await shared.settled(n, 60)
        stats = {node.name: node.stop() for node in nodes[:3]}
        # read once the nodes stopped: the thawed node's refused completions may reach the
        # store after the others finished every slot
        got = await shared.settled(n, 60)
    assert got.claimed == n and got.finished == n, "each slot created once, and finished once"
    assert got.refused in (None, sum(st["stale"] for st in stats.values())), "counted"
    assert {r.attempt for r in got.rows} <= {1, 2} and len({r.job_id for r in got.rows}) in (0, n)
    spread = by_node(got, {name: stats[name] for name in ("n0", "n1")})
    assert all(count > n // 20 for count in spread.values()), spread
    assert all(r.claimed_at >= due for r in got.rows if r.attempt == 1), "claimed before due"


async def test_server_restart_is_an_outage_logged_once_and_survived(
    shared: Shared, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    private = shared.private_server()
    if private is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs a private {shared.kind} server")
        pytest.skip(f"no private {shared.kind} server can run here")
    with private as server, cluster(server.url, "restart", tmp_path, shared.lease) as c:
        node = c.start("a")
        s = shared.admin(server.url, "restart")
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        for i in range(5):
            await s.add(jobs.stamp, Every(seconds=0.5, start_at=start), id=f"j{i}", args=(log,))
        await s.stop()
        await until(lambda: time.time() > start.timestamp() + 1.5, 10, "a few rounds")
        server.stop()
        down = time.time()
        await until(lambda: time.time() > down + 2 * shared.lease, 10, "two leases of outage")
        assert node.proc.poll() is None, "the scheduler survives the outage"
        server.start()
        up = time.time()
        await until(
            lambda: {e[1] for e in starts(log) if e[5] > up} == {f"j{i}" for i in range(5)},
            15,
            "every job to resume",
        )
        stats = node.stop()
    text = node.log()
    assert text.count("store unavailable") == 1, text
    assert text.count("store available again") == 1, text
    assert stats["stale"] == 0
    assert max(Counter((e[1], e[2]) for e in starts(log)).values()) == 1, "no slot ran twice"


async def test_nothing_of_a_removed_job_is_claimed_or_started_after_remove_returns(
    shared: Shared, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with cluster(shared.url, shared.ns, tmp_path, shared.lease) as c:
        nodes = [c.start("a"), c.start("b")]
        s = shared.admin()
        start = datetime.now(UTC) + timedelta(seconds=0.5)
        for i in range(20):
            await s.add(jobs.stamp, Every(seconds=0.1, start_at=start), id=f"j{i}", args=(log,))
        await until(lambda: len({e[1] for e in jobs.read(log)}) == 20, 10, "every job firing")
        removed: dict[str, float] = {}
        for i in range(0, 20, 2):  # while both nodes claim every 0.1 s
            await s.remove(f"j{i}")
            removed[f"j{i}"] = await shared.server_time()
        last = max(removed.values())
        await until(lambda: time.time() > last + 1.0, 10, "ten more rounds")
        left = await shared.job_ids()
        await s.stop()
        for node in nodes:
            node.stop()
        got = await shared.recorded()
        leftovers = await shared.leftovers(set(removed))
    late = [r for r in got.rows if r.job_id in removed and r.claimed_at > removed[r.job_id]]
    assert late == [], "a removed job's firing was created after remove() returned"
    trace = jobs.read(log)
    ghost = [e for e in trace if e[1] in removed and e[2] > removed[e[1]]]
    assert ghost == [], "a slot due after remove() returned was started"
    assert left == sorted(f"j{i}" for i in range(1, 20, 2)), "only the removed are gone"
    assert leftovers == [], "nothing of them is left"
    alive = {e[1] for e in trace if e[2] > last + 0.3}
    assert alive == set(left), "the other jobs kept firing"
    assert max(Counter((e[1], e[2]) for e in trace).values()) == 1, "no slot ran twice"


async def test_a_node_killed_inside_its_claim_loses_no_slot_and_creates_none_twice(
    shared: Shared, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    n = 50
    with (
        Proxy("127.0.0.1", shared.port) as proxy,
        cluster(shared.url, shared.ns, tmp_path, shared.lease) as c,
    ):
        opts = await shared.lose_claim_replies(proxy)
        a = c.start("a", url=shared.via(proxy), poll=60, **{"timeout": 5.0, **opts})
        s = shared.admin()
        due = soon(3.0)
        for i in range(n):
            await s.add(jobs.stamp, At(due), id=f"doomed{i}", args=(log,))
        await until(lambda: time.time() > due.timestamp() - 0.3, 5, "just before the claim")
        assert (await shared.recorded()).claimed == 0, "set-up too slow: claimed too early"
        proxy.set("drop_after_commit")  # the claim is applied; a never hears of it
        claimed = (await shared.wait(lambda r: r.claimed > 0, 10)).claimed
        a.kill()  # SIGKILL: a is still waiting for its claim's reply
        c.start("b")
        got = await shared.settled(n, 15)
        await s.stop()
    assert got.claimed == n, "each slot created once"
    assert (got.takeovers, got.refused or 0, got.leased) == (claimed, 0, 0), "a's taken over"
    trace = jobs.read(log)
    assert sorted(e[1] for e in trace) == sorted(f"doomed{i}" for i in range(n)), "each ran once"
    assert {e[4] for e in trace} == {"b"}
    attempts = Counter(e[3] for e in trace)
    assert attempts == +Counter({2: claimed, 1: n - claimed}), "attempt counted up if taken over"


async def test_a_redis_restart_without_persistence_is_noticed_and_declared_jobs_come_back(
    tmp_path: Path,
) -> None:
    log = str(tmp_path / "trace")
    if privateredis.available() is not None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true needs a private redis-server")
        pytest.skip("no private redis-server can run here")
    with (
        privateredis.private_redis(persist=False) as server,
        cluster(server.url, "wiped", tmp_path, 1.0) as c,
    ):
        node = c.start("a", declare="tests.distributed.declared")
        admin = Redis("wiped")
        admin.url = server.url
        s = admin.admin(server.url)
        await s.add(jobs.stamp, Every(seconds=0.5), id="added", args=(log,))
        await until(lambda: len(starts(log)) >= 2, 10, "the added job to run")
        assert await admin.job_ids() == ["added", "declared-cleanup", "declared-report"]
        server.stop()
        server.start()  # empty: no append-only file
        await until(lambda: "was wiped" in node.log(), 15, "the node to notice")
        jobs_after = await admin.job_ids()
        stats = node.stop()
        await s.stop()
    text = node.log()
    assert text.count("CRITICAL") == 1 and "Redis namespace 'wiped' was wiped" in text, text
    assert "appendonly yes" in text
    assert jobs_after == ["declared-cleanup", "declared-report"], "declared back; added gone"
    assert stats["stale"] == 0
