"""Public behaviours at their edges: a timer cancelled from another thread, paused ``Ticks`` jobs,
a failing async event subscriber, closing an event stream, jobs declared while the scheduler
runs, and the repr of a scheduler run on a thread."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from aioscheduler import Every, Outcome, Scheduler, Ticks
from aioscheduler.events import RunFinished
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing import FakeClock


async def test_a_timer_cancelled_from_another_thread_never_runs(
    running: Scheduler, clock: FakeClock
) -> None:
    calls: list[int] = []

    async def callback() -> None:
        calls.append(1)

    timer = running.call_later(10, callback)
    assert await asyncio.to_thread(timer.cancel)
    await clock.advance(0)  # the cancellation hops to the loop thread
    assert timer.done and timer.when is None
    await clock.advance(20)
    assert calls == []
    assert not await asyncio.to_thread(timer.cancel)  # already ended


async def test_a_paused_ticks_job_ignores_ticks_until_resumed(
    running: Scheduler, clock: FakeClock
) -> None:
    calls: list[int] = []
    await running.add(
        lambda: calls.append(1),
        Ticks(2, counter="uploads", repeat=True),
        id="t",
        executor="inline",
    )
    running.tick("nobody-counts-this")  # no job follows it: nothing happens
    await running.pause("t")
    running.tick("uploads", 2)
    await clock.advance(0)
    assert calls == []
    await running.resume("t")
    running.tick("uploads", 2)
    await clock.advance(0)
    assert calls == [1]


async def test_an_async_subscriber_that_fails_is_logged_and_keeps_receiving(
    running: Scheduler, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[RunFinished] = []

    async def subscriber(event: RunFinished) -> None:
        seen.append(event)
        if len(seen) == 1:
            raise ValueError("subscriber bug")

    running.subscribe(subscriber, RunFinished)
    await running.add(lambda: None, Every(seconds=1), id="j", executor="inline")
    with caplog.at_level(logging.ERROR, "aioscheduler"):
        await clock.advance(2)
        for _ in range(100):
            if len(seen) == 2:
                break
            await asyncio.sleep(0.01)
    assert [e.run.outcome for e in seen] == [Outcome.SUCCESS, Outcome.SUCCESS]
    failures = [r for r in caplog.records if "event subscriber" in r.getMessage()]
    assert len(failures) == 1 and "failed on RunFinished" in failures[0].getMessage()


async def test_a_closed_event_stream_ends_after_what_it_had_buffered(
    running: Scheduler, clock: FakeClock
) -> None:
    stream = running.events(RunFinished)
    await running.add(lambda: None, Every(seconds=1), id="j", executor="inline")
    await clock.advance(1)
    await stream.aclose()
    await clock.advance(1)
    received = [event async for event in stream]  # ends: no await for more
    assert [e.at for e in received] == [clock.now() - timedelta(seconds=1)]  # buffered before


async def test_a_job_declared_while_running_with_run_at_start_runs_at_once(
    running: Scheduler, clock: FakeClock
) -> None:
    calls: list[int] = []

    @running.every(hours=1, id="declared", run_at_start=True, executor="inline")
    def declared() -> None:
        calls.append(1)

    await clock.advance(0)
    assert calls == [1]
    assert (await running.get("declared")).next_run_at is not None


async def test_a_job_declared_while_running_that_the_store_cannot_keep_is_logged(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    s = Scheduler(store=SQLiteStore(tmp_path / "jobs.db"), clock=clock, allow=["tests"])
    async with s:

        def make() -> None:
            @s.every(hours=1, id="nested")
            def nested() -> None:  # not importable by its path: a store cannot keep it
                pass

        with caplog.at_level(logging.ERROR, "aioscheduler"):
            make()
            for _ in range(100):  # added on a later loop turn
                if any("was not added" in r.getMessage() for r in caplog.records):
                    break
                await asyncio.sleep(0.01)
        assert any("declared job 'nested' was not added" in r.getMessage() for r in caplog.records)
        assert [job.id for job in await s.jobs()] == []


def test_a_scheduler_thread_says_whether_it_runs() -> None:
    thread = Scheduler(loop_lag_threshold=2.0).start_in_thread(name="bg")
    try:
        assert repr(thread) == "<SchedulerThread 'bg' running>"
        assert thread.scheduler.statistics().watchdog
    finally:
        thread.stop()
    assert repr(thread) == "<SchedulerThread 'bg' stopped>"
