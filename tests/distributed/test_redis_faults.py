"""Fault injection with real processes on the real Redis server (issue 12, RedisStore).

Every test asserts on what the store recorded (the namespace's counters: firings created,
takeovers, refused completions; the finished slots) and on the traces the job functions left:
every slot created once, none lost, at most one duplicate start per lost lease. The failover
tests use a 1 s lease; bounds on real time are generous (the machine is shared). The shared
Redis is never restarted or flushed: the outage test runs its own ``redis-server``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from aioscheduler import At, Every, Scheduler
from aioscheduler._values import JobOptions, JobSpec
from aioscheduler.stores._codec import encode_spec
from aioscheduler.stores._redis_claims import run_at_of
from aioscheduler.stores._redis_scripts import CLAIM
from aioscheduler.stores.redis import RedisStore
from tests.distributed import jobs, privateredis
from tests.distributed.harness import until
from tests.distributed.proxy import Proxy
from tests.distributed.redis_harness import REDIS_URL, recorded, redis_cluster, settled
from tests.stores.redis_support import delete_prefix, require_redis, unique_prefix

pytestmark = pytest.mark.slow

LEASE = 1.0
PORT = int(REDIS_URL.rsplit(":", 1)[1].split("/")[0])


async def admin(key_prefix: str, url: str = REDIS_URL) -> Scheduler:
    """A scheduler that is never started: the test's handle for adding jobs."""
    store = RedisStore(url, prefix=key_prefix, lease=LEASE)
    return Scheduler(store=store, node_name="admin", allow=["tests"])


@pytest.fixture
async def ns() -> AsyncIterator[str]:
    """A fresh key prefix on the shared test Redis, deleted after the test."""
    await require_redis()
    name = unique_prefix()
    yield name
    await delete_prefix(name)


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def starts(log: str) -> list[tuple[str, str, float, int, str, float]]:
    return [e for e in jobs.read(log) if e[0] == "start"]


async def test_killed_node_s_run_is_rerun_elsewhere_within_one_lease(
    ns: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with redis_cluster(REDIS_URL, ns, tmp_path, LEASE) as c:
        c.start("a")
        c.start("b")
        s = await admin(ns)
        await s.add(jobs.slow, At(soon(0.5)), id="slow", args=(3.0, log))
        await until(lambda: jobs.read(log), 10, "the first start")
        first = jobs.read(log)[0][4]
        killed = time.time()
        next(n for n in c.nodes if n.name == first).kill()
        await until(lambda: any(e[0] == "end" for e in jobs.read(log)), 15, "the re-run")
        got = await settled(REDIS_URL, ns, 1, 10)
        await s.stop()
    trace = starts(log)
    other = "b" if first == "a" else "a"
    assert [(e[3], e[4]) for e in trace] == [(1, first), (2, other)], "one duplicate start"
    assert trace[1][5] - killed < LEASE + 1.0, "taken over within about one lease"
    assert (got.claimed, got.takeovers, got.refused, got.finished) == (1, 1, 0, 1)


async def test_graceful_stop_hands_running_firings_over_at_once(ns: str, tmp_path: Path) -> None:
    log = str(tmp_path / "trace")
    with redis_cluster(REDIS_URL, ns, tmp_path, 5.0) as c:
        a = c.start("a", stop_timeout=0.1)
        c.start("b")
        s = await admin(ns)
        await s.add(jobs.slow, At(soon(0.3)), id="slow", args=(3.0, log))
        await until(lambda: jobs.read(log), 10, "the first start")
        a = next(n for n in c.nodes if n.name == jobs.read(log)[0][4])
        stopped = time.time()
        a.stop()
        await until(lambda: any(e[0] == "end" for e in jobs.read(log)), 10, "the re-run")
        got = await settled(REDIS_URL, ns, 1, 10)
        await s.stop()
    trace = jobs.read(log)
    first, other = a.name, "b" if a.name == "a" else "a"
    assert [(e[0], e[3], e[4]) for e in trace] == [
        ("start", 1, first), ("cancel", 1, first), ("start", 2, other), ("end", 2, other)
    ]  # fmt: skip
    assert trace[2][5] - stopped < 2.5, "released at stop, not left to expire (lease 5 s)"
    assert (got.claimed, got.takeovers) == (1, 1)


async def test_frozen_node_is_fenced_and_its_late_completion_refused(
    ns: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with redis_cluster(REDIS_URL, ns, tmp_path, LEASE) as c:
        c.start("a")
        c.start("b")
        s = await admin(ns)
        await s.add(jobs.slow, At(soon(0.3)), id="slow", args=(1.5, log))
        await until(lambda: jobs.read(log), 10, "the first start")
        first = jobs.read(log)[0][4]
        frozen = next(n for n in c.nodes if n.name == first)
        frozen.signal(signal.SIGSTOP)
        await until(lambda: len(starts(log)) >= 2, 15, "the takeover")
        frozen.signal(signal.SIGCONT)
        await until(
            lambda: sum(e[0] in ("end", "cancel") for e in jobs.read(log)) >= 2, 15, "both ends"
        )
        stats = frozen.stop()
        got = await settled(REDIS_URL, ns, 1, 10)
        await s.stop()
    trace = jobs.read(log)
    assert [e[0] for e in trace if e[3] == 2] == ["start", "end"]
    assert len(starts(log)) == 2, "one duplicate start for one lost lease"
    assert stats["lost"] + stats["stale"] >= 1, "the frozen node learnt it lost the lease"
    assert (got.claimed, got.takeovers) == (1, 1)
    assert got.refused == stats["stale"], "a late completion is refused and counted"


async def test_partitioned_node_fences_itself_before_its_lease_expires(
    ns: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    lease = 2.0
    with Proxy("127.0.0.1", PORT) as proxy, redis_cluster(REDIS_URL, ns, tmp_path, lease) as c:
        a = c.start("a", url=REDIS_URL.replace(f":{PORT}", f":{proxy.port}"))
        s = await admin(ns)
        await s.add(jobs.slow, At(soon(0.3)), id="slow", args=(4.0, log))
        await until(lambda: jobs.read(log), 10, "the first start")
        c.start("b")
        proxy.set("blackhole")
        await until(lambda: len(jobs.read(log)) >= 3, 15, "the fence and the takeover")
        proxy.set("pass")
        await until(lambda: any(e[0] == "end" for e in jobs.read(log)), 15, "the re-run")
        got = await settled(REDIS_URL, ns, 1, 15)
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
    ns: str, tmp_path: Path, skew: float
) -> None:
    log = str(tmp_path / "trace")
    with redis_cluster(REDIS_URL, ns, tmp_path, LEASE) as c:
        node = c.start("skewed", skew=skew)
        s = await admin(ns)
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
    ns: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with Proxy("127.0.0.1", PORT) as proxy, redis_cluster(REDIS_URL, ns, tmp_path, LEASE) as c:
        c.start("a", url=REDIS_URL.replace(f":{PORT}", f":{proxy.port}"), poll=60)
        s = await admin(ns)
        # the claim script is sent by hash: swallow the reply of the one that creates firings
        await load_claim_script()  # else the first EVALSHA's NOSCRIPT reply is the one swallowed
        proxy.commit_marker = hashlib.sha1(CLAIM.encode()).hexdigest().encode()
        due = soon(1.5)
        await s.add(jobs.stamp, At(due), id="once", args=(log,))
        await until(lambda: time.time() > due.timestamp() - 0.3, 5, "just before the claim")
        proxy.set("drop_after_commit")
        await until(lambda: time.time() > due.timestamp() + 1.0, 5, "the claim to time out")
        proxy.set("pass")
        got = await settled(REDIS_URL, ns, 1, 15)
        await s.stop()
    trace = jobs.read(log)
    assert len(trace) == 1, "the firing ran once"
    assert trace[0][3] == 2, "the claim was applied unseen; it ran after its lease, attempt 2"
    assert (got.claimed, got.takeovers) == (1, 1)


async def bulk_add(key_prefix: str, n: int, due: float) -> None:
    """Write ``n`` one-shot jobs due at ``due`` straight into the namespace (one pipeline)."""
    store = RedisStore(REDIS_URL, prefix=key_prefix)
    trigger = At(datetime.fromtimestamp(due, UTC))
    client = aioredis.from_url(REDIS_URL)
    try:
        pipe = client.pipeline(transaction=False)
        for i in range(n):
            spec = JobSpec(f"j{i}", jobs.noop, trigger, (), {}, JobOptions())
            document = encode_spec(spec)
            run_at = run_at_of(spec, due)
            assert run_at is not None
            pipe.hset(store.key("job"), spec.id, f"1|1|0|{due!r}|{run_at!r}|")
            pipe.hset(store.key("def"), spec.id, store._codec.seal(document))
            pipe.hset(store.key("dig"), spec.id, hashlib.sha256(document).hexdigest())
            pipe.zadd(store.key("due"), {spec.id: run_at})
        await pipe.execute()
    finally:
        await client.aclose()


async def test_four_nodes_share_ten_thousand_firings_due_at_once_despite_a_kill(
    ns: str, tmp_path: Path
) -> None:
    n = 10_000
    with redis_cluster(REDIS_URL, ns, tmp_path, 2.0) as c:
        nodes = [c.start(f"n{i}") for i in range(4)]
        due = time.time() + 3
        await bulk_add(ns, n, due)
        await until(lambda: time.time() > due + 0.2, 10, "the storm")
        nodes[3].kill()
        got = await settled(REDIS_URL, ns, n, 60)
        stats = [node.stop() for node in nodes[:3]]
    assert got.claimed == n, "each slot created once"
    assert got.finished == n - got.refused
    assert got.refused == 0
    assert all(st["claims"] > n // 20 for st in stats), stats


async def test_server_restart_is_an_outage_logged_once_and_survived(tmp_path: Path) -> None:
    problem = privateredis.available()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs a private redis-server: {problem}")
        pytest.skip(problem)
    log = str(tmp_path / "trace")
    with (
        privateredis.private_redis() as server,
        redis_cluster(server.url, "restart", tmp_path, LEASE) as c,
    ):
        node = c.start("a")
        s = await admin("restart", server.url)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        for i in range(5):
            await s.add(jobs.stamp, Every(seconds=0.5, start_at=start), id=f"j{i}", args=(log,))
        await s.stop()
        await until(lambda: time.time() > start.timestamp() + 1.5, 10, "a few rounds")
        server.stop()
        down = time.time()
        await until(lambda: time.time() > down + 2 * LEASE, 10, "two leases of outage")
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
    keys = Counter((e[1], e[2]) for e in starts(log))
    assert max(keys.values()) == 1, "no slot ran twice"


async def test_two_nodes_with_one_name_share_the_work_without_stealing(
    ns: str, tmp_path: Path
) -> None:
    with redis_cluster(REDIS_URL, ns, tmp_path, 2.0) as c:
        nodes = [c.start("same"), c.start("same")]
        s = await admin(ns)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        for i in range(40):
            await s.add(jobs.noop, Every(seconds=0.5, start_at=start), id=f"j{i}")
        await until(lambda: time.time() > start.timestamp() + 3.2, 10, "a few rounds")
        await s.stop()
        stats = [n.stop() for n in nodes]
        got = await settled(REDIS_URL, ns, 40 * 5, 10)
    assert got.takeovers == 0 and got.refused == 0, "no live work was taken over"
    assert all(st["stale"] == 0 and st["lost"] == 0 for st in stats)
    assert sum(st["claims"] for st in stats) >= 40 * 5, "the two incarnations ran every firing"


async def server_time(url: str = REDIS_URL) -> float:
    client = aioredis.from_url(url)
    try:
        seconds, micros = await client.time()
    finally:
        await client.aclose()
    return seconds + micros / 1e6


async def load_claim_script(url: str = REDIS_URL) -> None:
    client = aioredis.from_url(url)
    try:
        await client.script_load(CLAIM)
    finally:
        await client.aclose()


async def test_nothing_of_a_removed_job_is_claimed_or_started_after_remove_returns(
    ns: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    with redis_cluster(REDIS_URL, ns, tmp_path, LEASE) as c:
        nodes = [c.start("a"), c.start("b")]
        s = await admin(ns)
        start = datetime.now(UTC) + timedelta(seconds=0.5)
        for i in range(20):
            await s.add(jobs.stamp, Every(seconds=0.1, start_at=start), id=f"j{i}", args=(log,))
        await until(lambda: len({e[1] for e in jobs.read(log)}) == 20, 10, "every job firing")
        removed: dict[str, float] = {}
        for i in range(0, 20, 2):  # while both nodes claim every 0.1 s
            await s.remove(f"j{i}")
            removed[f"j{i}"] = await server_time()
        last = max(removed.values())
        await until(lambda: time.time() > last + 1.0, 10, "ten more rounds")
        await s.stop()
        for node in nodes:
            node.stop()
    client = aioredis.from_url(REDIS_URL, decode_responses=True)
    try:
        left = sorted(str(k) for k in await client.hkeys(f"{{{ns}}}:job"))
        due = {str(k) for k in await client.zrange(f"{{{ns}}}:due", 0, -1)}
        live = [await client.scard(f"{{{ns}}}:r:{job_id}") for job_id in removed]
    finally:
        await client.aclose()
    trace = jobs.read(log)
    ghost = [e for e in trace if e[1] in removed and e[2] > removed[e[1]]]
    assert ghost == [], "a slot due after remove() returned was claimed and started"
    assert left == sorted(f"j{i}" for i in range(1, 20, 2)), "only the removed are gone"
    assert due.isdisjoint(removed) and live == [0] * len(removed), "nothing of them is left"
    alive = {e[1] for e in trace if e[2] > last + 0.3}
    assert alive == set(left), "the other jobs kept firing"
    assert max(Counter((e[1], e[2]) for e in trace).values()) == 1, "no slot ran twice"


async def test_a_node_killed_inside_its_claim_loses_no_slot_and_creates_none_twice(
    ns: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    n = 50
    with Proxy("127.0.0.1", PORT) as proxy, redis_cluster(REDIS_URL, ns, tmp_path, LEASE) as c:
        a = c.start("a", url=REDIS_URL.replace(f":{PORT}", f":{proxy.port}"), poll=60, timeout=5)
        s = await admin(ns)
        # the claim script is sent by hash: swallow the reply of the one that creates firings
        proxy.commit_marker = hashlib.sha1(CLAIM.encode()).hexdigest().encode()
        await load_claim_script()  # else the first EVALSHA's NOSCRIPT reply is the one swallowed
        due = soon(3.0)
        for i in range(n):
            await s.add(jobs.stamp, At(due), id=f"j{i}", args=(log,))
        await until(lambda: time.time() > due.timestamp() - 0.3, 5, "just before the claim")
        assert (await recorded(REDIS_URL, ns)).claimed == 0, "set-up too slow: claimed too early"
        proxy.set("drop_after_commit")  # the claim is applied; a never hears of it
        deadline = time.monotonic() + 10
        while (claimed := (await recorded(REDIS_URL, ns)).claimed) == 0:
            assert time.monotonic() < deadline, "a never claimed"
            await asyncio.sleep(0.02)
        a.kill()  # SIGKILL: a is still waiting for its claim's reply
        c.start("b")
        got = await settled(REDIS_URL, ns, n, 15)
        await s.stop()
    assert got.claimed == n, "each slot created once"
    assert (got.takeovers, got.refused, got.leased) == (claimed, 0, 0), "a's claims taken over"
    trace = jobs.read(log)
    assert sorted(e[1] for e in trace) == sorted(f"j{i}" for i in range(n)), "each ran once"
    assert {e[4] for e in trace} == {"b"}
    attempts = Counter(e[3] for e in trace)
    assert attempts == +Counter({2: claimed, 1: n - claimed}), "attempt counted up if taken over"
