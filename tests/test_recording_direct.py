"""The plain MemoryStore's history is written in a loop callback, not a task per batch
(``Recorder._flush_direct``): the runs are recorded as before, a failed write goes the general
way (backoff, log), and a batch whose callback has not run yet is written at stop()."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import pytest

from aioscheduler import Every, Outcome, Scheduler, SchedulerState
from aioscheduler._recording import Recorder
from aioscheduler._stopping import within
from aioscheduler.errors import SchedulerCrashed
from aioscheduler.events import SchedulerCrashedEvent
from aioscheduler.stores.memory import MemoryStore
from aioscheduler.testing import FakeClock


async def test_runs_are_recorded_without_a_flush_task(
    running: Scheduler, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushes = 0
    flush = Recorder.flush

    async def counted(self: Recorder) -> None:
        nonlocal flushes
        flushes += 1
        await flush(self)

    monkeypatch.setattr(Recorder, "flush", counted)
    await running.add(lambda: 7, Every(seconds=1), id="j", executor="inline")
    for _ in range(3):
        waiting = asyncio.create_task(running.wait_run("j"))
        await asyncio.sleep(0)
        await clock.advance(1)
        run = await asyncio.wait_for(waiting, 5)
        assert (run.outcome, run.result) == (Outcome.SUCCESS, 7)
    job = await running.get("j")
    assert job.last_run is not None and job.last_run.result == 7
    assert len(job.history) == 3
    assert flushes == 0  # no task (and no flush() coroutine) per batch


async def test_a_failed_direct_write_is_retried_the_general_way(
    running: Scheduler,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = running._engine.store
    assert type(store) is MemoryStore
    release_now = store.release_now
    failing = 2  # the direct write, then flush()'s own attempt

    def flaky(runs: Sequence[tuple[Any, Any]]) -> None:
        nonlocal failing
        if failing:
            failing -= 1
            raise RuntimeError("the history broke")
        release_now(runs)

    monkeypatch.setattr(store, "release_now", flaky)
    await running.add(lambda: 7, Every(seconds=1), id="j", executor="inline")
    with caplog.at_level(logging.ERROR, logger="aioscheduler.scheduler"):
        await clock.advance(1)
        for _ in range(20):
            await asyncio.sleep(0)
    failed = [r for r in caplog.records if "recording 1 finished runs failed" in r.getMessage()]
    assert len(failed) == 1 and "attempt 1" in failed[0].getMessage()
    assert (await running.get("j")).last_run is None  # kept, not dropped
    await clock.advance(0.5)  # the backoff's retry writes it (the direct way again)
    for _ in range(20):
        await asyncio.sleep(0)
    job = await running.get("j")
    assert job.last_run is not None and job.last_run.result == 7
    assert failing == 0


async def test_stop_writes_a_batch_whose_direct_write_has_not_run(
    running: Scheduler, clock: FakeClock
) -> None:
    await running.add(lambda: 7, Every(seconds=1), id="j", executor="inline")
    recorder = running._engine.recorder
    scheduled = Recorder._schedule_flush
    written: list[tuple[int, bool]] = []

    def then_write_pending(self: Recorder) -> None:
        scheduled(self)  # the direct write's callback is queued, not run yet
        # stop()'s write, as drain_internal() makes it, comes first: it writes the batch
        # itself (no task: nothing awaits with the memory store) and the callback is dropped
        coro = self.write_pending(None, within)
        with pytest.raises(StopIteration):
            coro.send(None)
        written.append((self.pending, self.flushing))

    recorder._schedule_flush = then_write_pending.__get__(recorder)  # type: ignore[method-assign]
    await clock.advance(1)
    for _ in range(20):
        await asyncio.sleep(0)
    assert written == [(0, False)]
    job = await running.get("j")
    assert job.last_run is not None and job.last_run.result == 7
    assert len(job.history) == 1  # written once


async def test_a_bug_in_the_direct_write_crashes_the_scheduler(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler = Scheduler(clock=clock)
    await scheduler.add(lambda: 7, Every(seconds=1), id="j", executor="inline")
    seen: list[object] = []
    scheduler.subscribe(seen.append, SchedulerCrashedEvent)
    await scheduler.start()

    def broken(self: Recorder, pending: Any, stored: bool) -> None:
        raise RuntimeError("a bug after the write")

    monkeypatch.setattr(Recorder, "_stored", broken)
    await clock.advance(1)
    with pytest.raises(SchedulerCrashed) as raised:
        await asyncio.wait_for(scheduler.serve(), 5)
    assert str(raised.value.__cause__) == "a bug after the write"
    assert scheduler.state is SchedulerState.STOPPED
    [crash] = seen
    assert isinstance(crash, SchedulerCrashedEvent) and "a bug after the write" in crash.error
    with pytest.raises(SchedulerCrashed):
        await scheduler.stop()
