"""The supervising task group: a store outage while claiming backs off and recovers; a bug in
an internal task stops the scheduler, and serve()/stop() say so."""

from __future__ import annotations

import asyncio
import logging

import pytest

from aioscheduler import Every, Scheduler, SchedulerState
from aioscheduler.errors import SchedulerCrashed, StoreError
from aioscheduler.events import (
    SchedulerCrashedEvent,
    SchedulerStopped,
    StoreRecovered,
    StoreUnavailable,
)
from aioscheduler.stores import Claim, MemoryStore
from aioscheduler.testing import FakeClock


class FlakyStore(MemoryStore):
    """A memory store whose next claims raise the given errors."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[BaseException] = []

    async def acquire_due(self, now: float, limit: int) -> list[Claim]:
        if self.errors:
            raise self.errors.pop(0)
        return await super().acquire_due(now, limit)


async def test_a_store_error_while_claiming_backs_off_and_recovers(clock: FakeClock) -> None:
    store = FlakyStore()
    scheduler = Scheduler(store=store, clock=clock)
    ran: list[float] = []
    await scheduler.add(lambda: ran.append(clock.time()), Every(seconds=10), executor="inline")
    events: list[object] = []
    scheduler.subscribe(events.append, StoreUnavailable, StoreRecovered)
    store.errors = [StoreError("down"), StoreError("still down")]
    async with scheduler:
        await clock.advance(10)  # claim fails, backs off 0.25 s, fails, backs off 0.5 s
        assert ran == []
        await clock.advance(1)  # the third claim works
        assert len(ran) == 1 and scheduler.running
        await clock.advance(10)
        assert len(ran) == 2
    assert [type(e) for e in events] == [StoreUnavailable, StoreRecovered]


async def test_a_bug_while_claiming_crashes_the_scheduler(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = FlakyStore()
    scheduler = Scheduler(store=store, clock=clock)
    await scheduler.add(lambda: None, Every(seconds=10), executor="inline")
    seen: list[object] = []
    scheduler.subscribe(seen.append, SchedulerCrashedEvent, SchedulerStopped)
    store.errors = [RuntimeError("a bug")]
    await scheduler.start()
    with caplog.at_level(logging.CRITICAL, logger="aioscheduler"):
        await clock.advance(10)
        with pytest.raises(SchedulerCrashed) as raised:
            await asyncio.wait_for(scheduler.serve(), 5)
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert str(raised.value.__cause__) == "a bug"
    assert not scheduler.running
    assert scheduler.state is SchedulerState.STOPPED
    assert [r.levelno for r in caplog.records if "crashed" in r.getMessage()] == [logging.CRITICAL]
    [crash] = [e for e in seen if isinstance(e, SchedulerCrashedEvent)]
    assert crash.task == "dispatcher" and "a bug" in crash.error
    assert any(isinstance(e, SchedulerStopped) for e in seen)
    with pytest.raises(SchedulerCrashed) as again:  # stop() re-raises it, once
        await scheduler.stop()
    assert again.value.__cause__ is raised.value.__cause__
    await scheduler.stop()  # then it is a no-op


async def test_a_crash_is_reported_by_the_first_stop_without_serve(clock: FakeClock) -> None:
    store = FlakyStore()
    scheduler = Scheduler(store=store, clock=clock)
    await scheduler.add(lambda: None, Every(seconds=10), executor="inline")
    store.errors = [ValueError("oops")]
    await scheduler.start()
    await clock.advance(10)
    assert not scheduler.running
    with pytest.raises(SchedulerCrashed):
        await scheduler.stop()
    await scheduler.stop()


async def test_a_crashed_scheduler_can_start_again(clock: FakeClock) -> None:
    store = FlakyStore()
    scheduler = Scheduler(store=store, clock=clock)
    ran: list[float] = []
    await scheduler.add(lambda: ran.append(clock.time()), Every(seconds=10), executor="inline")
    store.errors = [RuntimeError("once")]
    await scheduler.start()
    await clock.advance(10)
    with pytest.raises(SchedulerCrashed):
        await scheduler.stop()
    async with scheduler:
        await clock.advance(10)
        assert ran and scheduler.running
