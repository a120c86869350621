"""What happens to firings that wait (queued by ``overlap="queue"``, held in a ``coalesce=False``
backlog, waiting for a ``max_concurrency`` slot) when the scheduler stops or the job goes, and
the debug line of a run that neither succeeded nor failed."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from aioscheduler import Every, Outcome, Run, Scheduler, current_run
from aioscheduler.events import RunFinished, RunSkipped
from aioscheduler.testing import FakeClock

from .conftest import START


def rel(run: Run) -> float:
    return run.scheduled_at.timestamp() - START.timestamp()


class Gate:
    """A job that records the firing of each run and waits until the gate opens."""

    def __init__(self) -> None:
        self.started: list[float] = []
        self.gate = asyncio.Event()

    async def __call__(self) -> None:
        run = current_run()
        assert run is not None
        self.started.append(rel(run))
        await self.gate.wait()


async def test_a_queued_firing_is_reported_cancelled_when_the_scheduler_stops(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    job = Gate()
    finished: list[Run] = []
    scheduler.subscribe(lambda e: finished.append(e.run), RunFinished)
    await scheduler.add(job, Every(seconds=10), id="q", overlap="queue")
    await scheduler.start()
    await clock.advance(20)  # the run of 10 s still runs: the firing of 20 s is queued
    assert job.started == [10]
    await scheduler.stop(timeout=0)
    assert job.started == [10]  # the queued firing never ran
    history = (await scheduler.get("q")).history
    by_slot = {rel(run): run for run in history}
    assert set(by_slot) == {10, 20}
    for run in by_slot.values():
        assert (run.outcome, run.reason) == (Outcome.CANCELLED, "scheduler stopped")
    assert by_slot[20].started_at is None
    assert sorted(rel(r) for r in finished) == [10, 20]


async def test_backlog_firings_of_a_removed_job_are_reported_skipped(
    running: Scheduler, clock: FakeClock
) -> None:
    job = Gate()
    outcomes: list[Run] = []
    running.subscribe(lambda e: outcomes.append(e.run), RunFinished, RunSkipped)
    await running.add(job, Every(seconds=10), id="b", coalesce=False)
    clock.jump(35)  # the firings of 10, 20 and 30 s are all late
    await clock.advance(0)
    assert job.started == [10]  # 20 and 30 wait for it, in order
    await running.remove("b")
    job.gate.set()
    await clock.advance(0)
    assert job.started == [10]
    skipped = sorted((rel(r), r.outcome, r.reason) for r in outcomes if rel(r) != 10)
    assert skipped == [
        (20, Outcome.SKIPPED, "job removed"),
        (30, Outcome.SKIPPED, "job removed"),
    ]


async def test_a_firing_waiting_for_a_slot_is_cancelled_at_stop_and_never_starts(
    clock: FakeClock,
) -> None:
    s = Scheduler(clock=clock, max_concurrency=1)
    first, second = Gate(), Gate()
    await s.add(first, Every(seconds=10), id="first")
    await s.add(second, Every(seconds=10), id="second")
    await s.start()
    await clock.advance(10)
    assert s.statistics().waiting == 1
    await s.stop(timeout=0)
    ran = first.started + second.started
    assert ran == [10]  # only one of them ever started
    waited = "second" if first.started else "first"
    last = (await s.get(waited)).last_run
    assert last is not None
    assert (last.outcome, last.reason, last.started_at) == (
        Outcome.CANCELLED,
        "scheduler stopped",
        None,
    )


async def test_a_cancelled_run_is_logged_at_debug_level_with_its_lateness(
    running: Scheduler, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    job = Gate()
    await running.add(job, Every(seconds=10), id="d", overlap="replace")
    with caplog.at_level(logging.DEBUG, "aioscheduler.runner"):
        await clock.advance(10)
        clock.jump(timedelta(seconds=10.5))  # the next firing starts half a second late
        await clock.advance(0)  # ...and replaces the first run
    records = [r for r in caplog.records if r.getMessage() == "job 'd' ran: cancelled"]
    assert len(records) == 1
    record = records[0]
    assert getattr(record, "job_id", None) == "d"
    assert getattr(record, "attempt", None) == 1
    assert getattr(record, "lateness", None) == 0.0  # the replaced run started on time
    job.gate.set()
    await clock.advance(0)
