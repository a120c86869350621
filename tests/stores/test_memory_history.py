"""The memory store's run history leaves nothing for the cyclic garbage collector (issue 11).

A ``Run`` per kept firing, for 1e5 jobs, made full collections of 100-400 ms land on the firing
path; kept runs are now plain records, untracked by the collector, and rebuilt on read.
"""

from __future__ import annotations

import gc
from collections import Counter

from aioscheduler import Every, Outcome, Scheduler
from aioscheduler.testing import FakeClock

from ..conftest import START


def ok(i: int) -> int:
    return i


def fail() -> None:
    raise ValueError("boom")


async def test_kept_runs_add_no_object_for_the_garbage_collector() -> None:
    clock = FakeClock(START)
    scheduler = Scheduler(clock=clock, history_limit=5)
    for i in range(200):
        await scheduler.add(ok, Every(1), args=(i,), id=f"j{i}", executor="inline")
    async with scheduler:
        await clock.advance(3)  # every job has a history now
        gc.collect()
        before = len(gc.get_objects())
        await clock.advance(10)  # 2,000 more finished runs, 1,000 of them kept
        gc.collect()
        grown = len(gc.get_objects()) - before
        job = await scheduler.get("j7")
    assert grown < 100
    assert [r.outcome for r in job.history] == [Outcome.SUCCESS] * 5
    assert [r.result for r in job.history] == [7] * 5
    assert [r.scheduled_at.timestamp() for r in job.history] == [
        START.timestamp() + k for k in range(9, 14)
    ]


async def test_a_failed_run_keeps_its_error_and_outcome_in_the_history() -> None:
    clock = FakeClock(START)
    scheduler = Scheduler(clock=clock, history_limit=2)
    await scheduler.add(fail, Every(1), id="f", executor="inline")
    async with scheduler:
        await clock.advance(3)
        job = await scheduler.get("f")
    assert [r.outcome for r in job.history] == [Outcome.ERROR, Outcome.ERROR]
    assert all(isinstance(r.error, ValueError) for r in job.history)
    assert job.last_run is job.history[-1] or job.last_run == job.history[-1]


async def test_a_finished_firing_is_kept_without_a_run_and_read_back_as_one() -> None:
    from dataclasses import dataclass
    from typing import Any

    from aioscheduler._clock import to_datetime
    from aioscheduler.stores import MemoryStore
    from aioscheduler.stores._base import Claim

    @dataclass
    class Finished:  # what the engine hands the store (FinishedFiring)
        claim: Claim
        started: float | None
        finished: float | None
        attempt: int
        outcome: Outcome
        reason: str | None
        missed: int
        result: Any
        error: BaseException | None
        node: str | None

    clock = FakeClock(START)
    scheduler = Scheduler(clock=clock)
    store = scheduler.store
    assert isinstance(store, MemoryStore)
    await scheduler.add(ok, Every(1), args=(1,), id="x")
    async with scheduler:
        t0 = START.timestamp()
        [claim] = await store.acquire_due(t0 + 1.0, 10)
        await store.release(
            [
                (
                    claim,
                    Finished(claim, t0 + 1.25, t0 + 1.5, 1, Outcome.SUCCESS, None, 0, 1, None, "n"),
                )
            ]
        )
        job = await scheduler.get("x")
    [run] = job.history
    assert run.job_id == "x"
    assert (run.scheduled_at, run.started_at, run.finished_at) == (
        to_datetime(t0 + 1.0),
        to_datetime(t0 + 1.25),
        to_datetime(t0 + 1.5),
    )
    assert (run.outcome, run.result, run.node, run.attempt) == (Outcome.SUCCESS, 1, "n", 1)


async def test_firings_leave_no_object_for_the_oldest_generation() -> None:
    clock = FakeClock(START)
    scheduler = Scheduler(clock=clock, history_limit=5)
    for i in range(200):
        await scheduler.add(ok, Every(1), args=(i,), id=f"j{i}", executor="inline")
    async with scheduler:
        await clock.advance(3)  # every job has a history now
        gc.collect()
        old = {id(o) for o in gc.get_objects(2)}
        await clock.advance(10)  # 2,000 more finished runs
        gc.collect(1)  # what survives the young generations goes to the oldest
        promoted = [o for o in gc.get_objects(2) if id(o) not in old]
    # each job's kept runs were one tracked tuple per job here (a tuple of record tuples)
    assert len(promoted) < 50, Counter(type(o).__name__ for o in promoted).most_common(5)
