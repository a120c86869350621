"""wait_run() that times out or is ended by stop(); a pause after failures that the store cannot
make (an outage) or that finds the job gone; finished runs a hanging store cannot take at stop
(bounded, logged)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from aioscheduler import Every, Outcome, Scheduler
from aioscheduler._stopping import CANCEL_GRACE, STOP_GRACE
from aioscheduler.errors import StoreError
from aioscheduler.events import JobPausedAfterFailures
from aioscheduler.stores.memory import MemoryStore
from aioscheduler.testing import FakeClock


async def test_wait_run_times_out_and_a_later_wait_still_gets_the_run(
    running: Scheduler, clock: FakeClock
) -> None:
    await running.add(lambda: 42, Every(seconds=10), id="j", executor="inline")
    with pytest.raises(TimeoutError):
        await running.wait_run("j", timeout=0.01)
    waiting = asyncio.create_task(running.wait_run("j"))
    await asyncio.sleep(0)
    await clock.advance(10)
    run = await asyncio.wait_for(waiting, 5)
    assert (run.outcome, run.result) == (Outcome.SUCCESS, 42)


async def test_stop_ends_a_pending_wait_run_cancelled(scheduler: Scheduler) -> None:
    await scheduler.add(lambda: None, Every(hours=1), id="j", executor="inline")
    await scheduler.start()
    waiting = asyncio.create_task(scheduler.wait_run("j"))
    await asyncio.sleep(0)  # it waits
    await scheduler.stop()
    with pytest.raises(asyncio.CancelledError):
        await waiting


class PauseFails(MemoryStore):
    """A memory store that is down whenever a job is paused."""

    def __init__(self) -> None:
        super().__init__()
        self.pause_attempts = 0

    async def set_paused(self, job_id: str, paused: bool, *, now: float) -> Any:
        if paused:
            self.pause_attempts += 1
            raise StoreError("the store is away")
        return await super().set_paused(job_id, paused, now=now)


async def fails() -> None:
    raise RuntimeError("the job broke")


async def test_a_pause_after_failures_during_an_outage_is_logged_and_tried_again(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = PauseFails()
    s = Scheduler(store=store, clock=clock)
    paused: list[JobPausedAfterFailures] = []
    s.subscribe(paused.append, JobPausedAfterFailures)
    await s.add(fails, Every(seconds=10), id="j", pause_after_failures=2)
    async with s:
        with caplog.at_level(logging.ERROR, "aioscheduler"):
            await clock.advance(20)  # two failures: the pause fails
            assert store.pause_attempts == 1
            assert s.running
            assert not (await s.get("j")).paused
            await clock.advance(20)  # the job keeps running; two more failures: tried again
        assert store.pause_attempts == 2
    assert paused == []
    errors = [r.getMessage() for r in caplog.records if "pausing job" in r.getMessage()]
    assert errors == ["pausing job 'j' after 2 failures failed: the store is away"] * 2


async def test_a_pause_after_failures_of_a_job_removed_meanwhile_does_nothing(
    running: Scheduler, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    paused: list[JobPausedAfterFailures] = []
    running.subscribe(paused.append, JobPausedAfterFailures)

    async def removes_itself_then_fails() -> None:
        await running.remove("j")
        raise RuntimeError("the job broke")

    await running.add(removes_itself_then_fails, Every(seconds=10), id="j", pause_after_failures=1)
    with caplog.at_level(logging.WARNING, "aioscheduler"):
        await clock.advance(10)
    assert await running.jobs() == []
    assert paused == []
    assert not [r for r in caplog.records if "paus" in r.getMessage()]


class HangingRelease(MemoryStore):
    """A memory store whose writes of finished runs hang (a store that stopped answering)."""

    def __init__(self) -> None:
        super().__init__()
        self.hang = False
        self.release_gate = asyncio.Event()

    async def release(self, pending: Any) -> Any:
        if self.hang:
            await self.release_gate.wait()
        return await super().release(pending)


async def test_runs_a_hanging_store_cannot_take_at_stop_are_logged_and_stop_returns(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = HangingRelease()
    s = Scheduler(store=store, clock=clock)
    release = asyncio.Event()

    async def slow() -> None:
        await release.wait()

    await s.add(slow, Every(hours=1), id="slow")
    await s.start()
    try:
        await clock.advance(3600)  # slow runs
        store.hang = True
        started = time.monotonic()
        with caplog.at_level(logging.ERROR, "aioscheduler"):
            await s.stop(timeout=0)  # cancels slow; its run cannot be written
        assert time.monotonic() - started < STOP_GRACE + CANCEL_GRACE + 2.0
    finally:
        store.release_gate.set()
    assert not s.running
    assert [
        r.getMessage() for r in caplog.records if "did not finish at stop()" in r.getMessage()
    ] == ["recording 1 finished runs did not finish at stop()"]
