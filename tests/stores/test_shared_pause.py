"""``pause_after_failures`` on a shared store: the store counts the failures over every node and
says when to pause; the scheduler then reports it like a local pause (event, warning)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from aioscheduler import Every, Outcome, Scheduler
from aioscheduler.events import JobPausedAfterFailures
from aioscheduler.stores._base import Store
from aioscheduler.stores.postgres import PostgresStore
from aioscheduler.stores.redis import RedisStore
from aioscheduler.testing import FakeClock
from tests.pg_support import PG_URL
from tests.stores.redis_support import REDIS_URL


async def always_fails() -> None:
    raise RuntimeError("the job broke")


@pytest.fixture(params=["pg", "redis"])
def shared_store(request: pytest.FixtureRequest) -> Store:
    if request.param == "pg":
        schema: str = request.getfixturevalue("pg_schema")
        return PostgresStore(PG_URL, schema=schema, clock="node")
    prefix: str = request.getfixturevalue("redis_prefix")
    return RedisStore(REDIS_URL, prefix=prefix, clock="node")


async def test_a_job_failing_on_a_shared_store_is_paused_after_its_failures(
    shared_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    assert shared_store.counts_failures  # the store, not the node, counts
    clock = FakeClock(datetime(2026, 3, 2, 12, tzinfo=UTC))
    s = Scheduler(store=shared_store, clock=clock, allow=["tests"])
    paused: list[JobPausedAfterFailures] = []
    s.subscribe(paused.append, JobPausedAfterFailures)
    await s.add(always_fails, Every(seconds=10), id="fails", pause_after_failures=2)
    await s.start()
    try:
        with caplog.at_level(logging.WARNING, "aioscheduler"):
            for _ in range(100):  # the store's round trips are real: poll for their outcome
                await clock.advance(10)
                if (await s.get("fails")).paused:
                    break
                await asyncio.sleep(0.02)
            for _ in range(100):  # the event is delivered in the background
                if paused:
                    break
                await asyncio.sleep(0.01)
        job = await s.get("fails")
        assert job.paused
        assert [run.outcome for run in job.history] == [Outcome.ERROR, Outcome.ERROR]
        assert [(e.job_id, e.failures) for e in paused] == [("fails", 2)]
        assert any("counted over every node" in r.getMessage() for r in caplog.records)
        await clock.advance(60)  # paused: it fires no more
        assert len((await s.get("fails")).history) == 2
    finally:
        await s.stop()
