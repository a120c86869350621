"""Events: subscriptions, the events() iterator, run records, current_run()."""

from __future__ import annotations

import asyncio
import threading

from aioscheduler import Every, Outcome, Run, Scheduler, current_run
from aioscheduler.events import (
    Event,
    JobAdded,
    JobPaused,
    JobRemoved,
    JobResumed,
    JobUpdated,
    RunFinished,
    RunStarted,
)
from aioscheduler.testing import FakeClock

from .conftest import START


async def test_job_lifecycle_events_are_emitted_in_order(
    running: Scheduler, clock: FakeClock
) -> None:
    seen: list[Event] = []
    running.subscribe(seen.append)
    await running.add(lambda: None, Every(seconds=1), id="j", executor="inline")
    await running.add(lambda: None, Every(seconds=2), id="j", executor="inline", replace=True)
    await running.pause("j")
    await running.resume("j")
    await running.remove("j")
    await clock.advance(0)
    assert [type(e) for e in seen] == [JobAdded, JobUpdated, JobPaused, JobResumed, JobRemoved]
    assert all(getattr(e, "job_id", None) == "j" for e in seen)


async def test_run_events_carry_the_run(running: Scheduler, clock: FakeClock) -> None:
    seen: list[Event] = []
    running.subscribe(seen.append, RunStarted, RunFinished)

    async def work() -> int:
        return 42

    await running.add(work, Every(seconds=5), id="w")
    await clock.advance(5)
    started, finished = seen
    assert isinstance(started, RunStarted) and isinstance(finished, RunFinished)
    assert started.run.outcome is None
    run = finished.run
    assert run.job_id == "w"
    assert run.outcome is Outcome.SUCCESS and run.result == 42
    assert run.scheduled_at == run.started_at  # fake time: exactly on time
    assert run.lateness is not None and run.lateness.total_seconds() == 0
    assert run.finished_at is not None


async def test_a_failing_or_slow_subscriber_does_not_delay_firings(
    running: Scheduler, clock: FakeClock
) -> None:
    calls: list[float] = []

    def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    never = asyncio.Event()

    async def slow(event: Event) -> None:
        await never.wait()

    sub_broken = running.subscribe(broken)
    sub_slow = running.subscribe(slow)
    await running.add(
        lambda: calls.append(clock.time()), Every(seconds=1), id="j", executor="inline"
    )
    await clock.advance(5)
    assert len(calls) == 5
    assert sub_broken.failures > 0
    assert sub_slow.active
    never.set()


async def test_events_iterator_drops_and_counts_under_a_slow_consumer(clock: FakeClock) -> None:
    s = Scheduler(clock=clock, event_buffer=3)
    stream = s.events(RunFinished)
    await s.add(lambda: None, Every(seconds=1), id="j", executor="inline")
    async with s:
        await clock.advance(10)
    received = [e async for e in stream]  # ends after the buffered events once stopped
    assert len(received) == 3
    assert stream.dropped == 7
    assert [e.run.scheduled_at for e in received] == [START.replace(second=s) for s in (1, 2, 3)]


async def test_wait_run_returns_the_next_finished_run(running: Scheduler, clock: FakeClock) -> None:
    await running.add(lambda: "done", Every(seconds=5), id="w", executor="inline")
    waiter = asyncio.create_task(running.wait_run("w", timeout=5))
    await asyncio.sleep(0)
    await clock.advance(5)
    run: Run = await waiter
    assert run.result == "done" and run.outcome is Outcome.SUCCESS


async def test_current_run_inside_async_and_thread_callbacks(
    running: Scheduler, clock: FakeClock
) -> None:
    seen: list[tuple[str | None, int, bool]] = []

    async def in_loop() -> None:
        run = current_run()
        assert run is not None
        seen.append((run.job_id, run.attempt, False))

    def in_thread() -> None:
        run = current_run()
        assert run is not None
        seen.append(
            (run.job_id, run.attempt, threading.current_thread() is threading.main_thread())
        )

    await running.add(in_loop, Every(seconds=1), id="a")
    await running.add(in_thread, Every(seconds=1), id="t")
    await clock.advance(1)
    assert sorted(seen) == [("a", 1, False), ("t", 1, False)]
    assert current_run() is None
