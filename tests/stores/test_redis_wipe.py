"""A wiped Redis namespace (a server restarted without persistence, or FLUSHDB) is noticed,
reported and recovered from without a doubled firing (issue 12, fault matrix row 8).

Real Redis, real time. The shared server is never flushed: the wipe deletes this test's own
prefix with SCAN + DEL, which is what a FLUSHDB does to a namespace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

import aioscheduler
from aioscheduler import At, Every, Scheduler, current_run
from aioscheduler._admission import Admission
from aioscheduler.errors import StoreWiped
from aioscheduler.events import LeaseLost, StoreRecovered, StoreUnavailable
from aioscheduler.stores import StoreContext
from aioscheduler.stores.redis import RedisStore

from .redis_support import REDIS_URL, delete_prefix

pytestmark = pytest.mark.slow

#: (event, job id, slot, attempt, wall time) of every run in this process
TRACE: list[tuple[str, str | None, float, int, float]] = []


def _note(event: str) -> None:
    run = current_run()
    assert run is not None
    TRACE.append((event, run.job_id, run.scheduled_at.timestamp(), run.attempt, time.time()))


@aioscheduler.every(seconds=0.2, id="wipe-tick")
async def tick() -> None:
    """A declared job: it must come back after the wipe."""
    _note("start")


async def slow() -> None:
    """Runs across the wipe: its lease must survive it and its run must not be cancelled."""
    _note("start")
    try:
        await asyncio.sleep(1.5)
    except asyncio.CancelledError:
        _note("cancel")
        raise
    _note("end")


async def adhoc() -> None:
    """Added at run time: gone with the wipe (the message says so)."""
    _note("start")


def node(prefix: str, name: str) -> Scheduler:
    store = RedisStore(REDIS_URL, prefix=prefix, lease=3.0, poll=0.5)
    s = Scheduler(store=store, node_name=name, allow=["tests"])
    s.include(tick)
    return s


async def until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        await asyncio.sleep(0.02)


async def test_a_wiped_namespace_is_reported_and_its_declared_jobs_come_back_once(
    redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    TRACE.clear()
    caplog.set_level(logging.CRITICAL, logger="aioscheduler.stores.redis")
    nodes = [node(redis_prefix, "a"), node(redis_prefix, "b")]
    events: list[object] = []
    for s in nodes:
        s.subscribe(events.append, StoreUnavailable, StoreRecovered, LeaseLost)
    await asyncio.gather(*(s.start() for s in nodes))
    try:
        a = nodes[0]
        await a.add(slow, At(datetime.now(UTC) + timedelta(seconds=0.3)), id="slow")
        await a.add(adhoc, Every(seconds=0.2), id="adhoc")
        await until(lambda: any(e[:2] == ("start", "slow") for e in TRACE), 10, "slow to start")
        await until(lambda: sum(e[1] == "wipe-tick" for e in TRACE) >= 3, 10, "a few ticks")
        wiped = time.time()
        await delete_prefix(redis_prefix)  # what FLUSHDB does to this namespace
        await until(
            lambda: sum(e[1] == "wipe-tick" and e[4] > wiped + 0.5 for e in TRACE) >= 3,
            10,
            "ticks after the wipe",
        )
        await until(lambda: any(e[:2] == ("end", "slow") for e in TRACE), 10, "slow to end")
        await until(lambda: sum(isinstance(e, StoreRecovered) for e in events) >= 2, 10, "back")
        jobs_after = sorted(j.id for j in await a.jobs())
        client = aioredis.from_url(REDIS_URL)
        try:
            epoch = await client.get(f"{{{redis_prefix}}}:epoch")
            finished = int(await client.hget(f"{{{redis_prefix}}}:stats", "finished") or 0)
        finally:
            await client.aclose()
        later = time.time()
        await asyncio.sleep(0.5)
    finally:
        await asyncio.gather(*(s.stop() for s in nodes))
    stores = [s.store for s in nodes]
    assert all(isinstance(st, RedisStore) and st.wipes_seen == 1 for st in stores), "each noticed"
    critical = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 2, critical
    assert all(redis_prefix in m and "appendonly yes" in m for m in critical), critical
    assert sum("This node re-created the namespace" in m for m in critical) == 1, (
        "one node re-created it"
    )
    down = [e for e in events if isinstance(e, StoreUnavailable)]
    assert len(down) == 2 and all("was wiped" in e.error for e in down), down
    assert not any(isinstance(e, LeaseLost) for e in events), "no run was fenced by the wipe"
    assert epoch is not None, "the namespace has an epoch again"
    assert jobs_after == ["wipe-tick"], "the declared job is back; the added ones are gone"
    assert finished >= 1, "slow's completion was recorded in the re-created namespace"
    starts = Counter((e[1], e[2]) for e in TRACE if e[0] == "start")
    assert max(starts.values()) == 1, "no slot ran twice"
    assert [e[0] for e in TRACE if e[1] == "slow"] == ["start", "end"], "slow ran once, whole"
    assert not any(e[1] == "adhoc" and e[4] > later for e in TRACE), "adhoc is gone"


async def test_the_call_that_finds_the_namespace_wiped_raises_store_wiped(
    redis_prefix: str,
) -> None:
    store = RedisStore(REDIS_URL, prefix=redis_prefix, lease=3.0)
    wakeups: list[float] = []
    await store.open(
        StoreContext("n#1", wakeups.append, 10, node_name="n", admission=Admission(allow=["tests"]))
    )
    try:
        s = Scheduler(store="memory://")  # only to build a declared job's definition
        s.include(tick)
        spec = (await s.add(tick, Every(seconds=60), id="wipe-tick")).spec
        await s.stop()
        await store.declare_job(spec, now=time.time(), paused=False)
        await delete_prefix(redis_prefix)
        assert await store.list_jobs() == [], "a plain read sees the empty namespace"
        with pytest.raises(StoreWiped, match=redis_prefix):
            await store.acquire_due(time.time(), 10)
        assert [j.id for j in await store.list_jobs()] == ["wipe-tick"], "declared again"
        assert await store.acquire_due(time.time(), 10) == [], "then it goes on, nothing due"
        assert 0.0 in wakeups, "the dispatcher is asked to look again at once"
        calls = store.script_calls()
        assert (calls["EPOCH"], calls["RESTORE"]) == (1, 1), calls
    finally:
        await store.close()
