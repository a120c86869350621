"""start/stop/serve/async with: states, errors, and nothing left running after stop()."""

from __future__ import annotations

import asyncio
import threading

import pytest

from aioscheduler import Every, Outcome, Scheduler
from aioscheduler.errors import SchedulerStateError
from aioscheduler.events import SchedulerStarted, SchedulerStopped
from aioscheduler.testing import FakeClock


async def test_start_twice_is_an_error_and_stop_twice_is_a_no_op(scheduler: Scheduler) -> None:
    assert not scheduler.running
    await scheduler.start()
    assert scheduler.running
    with pytest.raises(SchedulerStateError, match="already running"):
        await scheduler.start()
    await scheduler.stop()
    assert not scheduler.running
    await scheduler.stop()


async def test_async_with_starts_and_stops(clock: FakeClock) -> None:
    events: list[object] = []
    s = Scheduler(clock=clock)
    s.subscribe(events.append, SchedulerStarted, SchedulerStopped)
    async with s as entered:
        assert entered is s
        assert s.running
    assert not s.running
    assert [type(e) for e in events] == [SchedulerStarted, SchedulerStopped]


async def test_a_stopped_scheduler_can_start_again(scheduler: Scheduler, clock: FakeClock) -> None:
    calls: list[int] = []
    await scheduler.add(lambda: calls.append(1), Every(seconds=1), id="j", executor="inline")
    async with scheduler:
        await clock.advance(1)
    async with scheduler:
        await clock.advance(1)
    assert calls == [1, 1]


async def test_stop_waits_for_running_work_by_default(running: Scheduler, clock: FakeClock) -> None:
    finished: list[int] = []

    async def work() -> None:
        await asyncio.sleep(0.05)
        finished.append(1)

    await running.add(work, Every(seconds=1), id="w")
    await clock.advance(1)
    await running.stop()
    assert finished == [1]
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


async def test_stop_with_timeout_cancels_what_is_left_and_leaves_no_task(
    running: Scheduler, clock: FakeClock
) -> None:
    async def hang() -> None:
        await asyncio.Event().wait()

    await running.add(hang, Every(seconds=1), id="h")
    await clock.advance(1)
    await running.stop(timeout=0.01)
    job = await running.get("h")
    assert job.last_run is not None
    assert job.last_run.outcome is Outcome.CANCELLED
    assert job.last_run.reason == "scheduler stopped"
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


async def test_stop_abandons_a_thread_run_that_outlives_the_timeout(
    running: Scheduler, clock: FakeClock
) -> None:
    started, release = threading.Event(), threading.Event()

    def stuck() -> None:
        started.set()
        release.wait(10)

    await running.add(stuck, Every(seconds=1), id="t")
    clock.jump(1)  # due now; not advance(), which would wait for the thread to finish
    while not started.is_set():
        await asyncio.sleep(0.005)
    await asyncio.wait_for(running.stop(timeout=0.01), 2)
    job = await running.get("t")
    assert job.last_run is not None and job.last_run.outcome is Outcome.CANCELLED
    release.set()


async def test_serve_blocks_until_stop(clock: FakeClock) -> None:
    s = Scheduler(clock=clock)
    served = asyncio.create_task(s.serve())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert s.running and not served.done()
    await s.stop()
    await asyncio.wait_for(served, 1)
    assert not s.running


async def test_real_clock_scheduler_fires_a_timer_soon() -> None:
    # real time with generous bounds: the system clock path works end to end
    s = Scheduler()
    fired = asyncio.Event()

    async def fire() -> None:
        fired.set()

    async with s:
        s.call_later(0.01, fire)
        await asyncio.wait_for(fired.wait(), 5)


async def test_stop_rejects_a_negative_timeout(running: Scheduler) -> None:
    with pytest.raises(ValueError, match="-1"):
        await running.stop(timeout=-1)
    assert running.running
