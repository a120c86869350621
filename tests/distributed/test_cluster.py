"""Several schedulers in one process on one PostgreSQL schema (server clock, real time).

Cheaper than processes, for what needs no process fault: declared jobs on nodes starting
together, cluster-wide overlap, downtime with misfire rules, pause racing the claims.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aioscheduler import Every, Outcome, Scheduler
from aioscheduler.events import JobAdded, JobUpdated
from aioscheduler.stores.postgres import PostgresStore
from tests.distributed import declared, jobs
from tests.distributed.harness import firings, query, until
from tests.pg_support import PG_URL

pytestmark = pytest.mark.slow


def node(schema: str, name: str, lease: float = 2.0) -> Scheduler:
    store = PostgresStore(PG_URL, schema=schema, lease=lease)
    return Scheduler(store=store, node_name=name, allow=["tests"])


async def test_nodes_starting_together_declare_each_job_once(pg_schema: str) -> None:
    nodes = [node(pg_schema, f"n{i}") for i in range(4)]
    events: list[object] = []
    for s in nodes:
        s.include(declared.report)
        s.include(declared.cleanup)
        s.subscribe(events.append, JobAdded, JobUpdated)
    await asyncio.gather(*(s.start() for s in nodes))
    try:
        rows = await query(PG_URL, f'SELECT id, version FROM "{pg_schema}".jobs ORDER BY id')
        assert [r["id"] for r in rows] == ["declared-cleanup", "declared-report"]
        await asyncio.sleep(0.1)
        assert sorted(type(e).__name__ for e in events) == ["JobAdded", "JobAdded"]
        # a new release changes one definition: every restarted node declares it, once wins
        later = [node(pg_schema, f"m{i}") for i in range(3)]
        for s in later:
            s.include(declared.report_v2)
            s.include(declared.cleanup)
            s.subscribe(events.append, JobUpdated)
        await asyncio.gather(*(s.start() for s in later))
        await asyncio.sleep(0.1)
        assert sum(isinstance(e, JobUpdated) for e in events) == 1, "replaced once"
        after = await query(PG_URL, f'SELECT id, version FROM "{pg_schema}".jobs ORDER BY id')
        assert after[0] == rows[0], "the unchanged job is untouched"
        assert after[1]["version"] != rows[1]["version"]
        await asyncio.gather(*(s.stop() for s in later))
    finally:
        await asyncio.gather(*(s.stop() for s in nodes))


async def test_a_skip_job_running_on_one_node_is_not_started_on_another(
    pg_schema: str, tmp_path: Path
) -> None:
    log = str(tmp_path / "trace")
    nodes = [node(pg_schema, f"n{i}") for i in range(3)]
    await asyncio.gather(*(s.start() for s in nodes))
    try:
        start = datetime.now(UTC) + timedelta(seconds=0.5)
        await nodes[0].add(
            jobs.slow, Every(seconds=0.3, start_at=start), id="slow", args=(1.0, log)
        )
        await until(lambda: sum(e[0] == "end" for e in jobs.read(log)) >= 3, 15, "3 runs")
    finally:
        await asyncio.gather(*(s.stop() for s in nodes))
    spans: list[tuple[float, float]] = []
    started: dict[float, float] = {}
    for ev, _, slot, _, _, at in jobs.read(log):
        if ev == "start":
            started[slot] = at
        elif slot in started:
            spans.append((started.pop(slot), at))
    spans.sort()
    assert len(spans) >= 3
    for (_, end), (begin, _) in itertools.pairwise(spans):
        assert begin >= end - 0.01, "two runs of a skip job overlapped across nodes"


async def test_three_days_of_downtime_follow_the_misfire_rules(pg_schema: str) -> None:
    s = node(pg_schema, "solo")
    hourly = Every(hours=1, start_at=datetime(2026, 1, 1, tzinfo=UTC))
    await s.add(jobs.noop, hourly, id="coalesced")
    await s.add(jobs.noop, hourly, id="all", coalesce=False)
    await s.add(jobs.noop, hourly, id="graced", coalesce=False, misfire_grace=60)
    await s.stop()
    # everyone was down for three days: the next firings are 72 hours in the past
    back = 72 * 3600
    await query(
        PG_URL,
        f'UPDATE "{pg_schema}".jobs SET nominal = nominal - $1, run_at = run_at - $1 RETURNING id',
        float(back),
    )
    await s.start()
    try:
        await until_async(lambda: s.jobs(), lambda js: all(j.last_run for j in js), 15)
        history = {j.id: j.history for j in await s.jobs()}
    finally:
        await s.stop()
    rows = await firings(PG_URL, pg_schema)
    per_job = {i: [r for r in rows if r["job_id"] == i] for i in ("coalesced", "all", "graced")}
    assert len(per_job["coalesced"]) == 1 and per_job["coalesced"][0]["missed"] >= 71
    assert history["coalesced"][-1].outcome is Outcome.SUCCESS
    assert len(per_job["all"]) >= 72, "every missed hour runs (bounded per claim)"
    assert per_job["graced"][0]["run"] is False, "outside the grace: reported missed"
    assert history["graced"][0].outcome is Outcome.MISSED and history["graced"][0].missed >= 71


async def until_async(get: object, ok: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        value = await get()  # type: ignore[operator]
        if ok(value):  # type: ignore[operator]
            return
        assert time.monotonic() < deadline, f"not reached in {timeout} s: {value!r}"
        await asyncio.sleep(0.1)


async def test_nothing_is_claimed_after_pause_returns(pg_schema: str) -> None:
    nodes = [node(pg_schema, f"n{i}") for i in range(2)]
    await asyncio.gather(*(s.start() for s in nodes))
    try:
        start = datetime.now(UTC) + timedelta(seconds=0.3)
        for i in range(60):
            await nodes[0].add(jobs.noop, Every(seconds=0.1, start_at=start), id=f"j{i}")
        await asyncio.sleep(0.6)
        paused_at = {}
        for i in range(60):
            await nodes[i % 2].pause(f"j{i}")
            [row] = await query(PG_URL, "SELECT extract(epoch FROM clock_timestamp())::float8")
            paused_at[f"j{i}"] = row[0]
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
    finally:
        await asyncio.gather(*(s.stop() for s in nodes))
    rows = await firings(PG_URL, pg_schema)
    late = [r for r in rows if r["claimed_at"] > paused_at[r["job_id"]]]
    assert late == [], "a paused job was claimed after pause() returned"
    assert len(rows) > 60
