"""Regression tests for bugs found in review (each failed before its fix)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from aioscheduler import After, At, Backoff, Every, Outcome, Scheduler, Timer
from aioscheduler.events import RunFinished, RunMissed
from aioscheduler.testing import FakeClock

from .conftest import START


async def test_replace_with_a_concurrency_bound_keeps_the_dispatcher_alive(
    clock: FakeClock,
) -> None:
    s = Scheduler(clock=clock, max_concurrency=1)
    hold = asyncio.Event()
    calls: list[float] = []

    async def blocker() -> None:
        await hold.wait()

    async def job() -> None:
        calls.append(clock.time())

    s.call_later(0.5, blocker)
    await s.add(job, Every(seconds=1), id="r", overlap="replace")
    async with s:
        await clock.advance(2.5)  # firings wait for the slot and replace each other
        assert s.running  # a dead dispatcher would have stopped the scheduler
        hold.set()
        await clock.advance(3)
        assert len(calls) >= 3  # firing goes on after the blocker ends


async def test_jitter_does_not_count_against_the_misfire_grace(
    running: Scheduler, clock: FakeClock
) -> None:
    outcomes: Counter[str] = Counter()
    running.subscribe(lambda e: outcomes.update([e.run.outcome.value]), RunFinished, RunMissed)
    await running.add(
        lambda: None, Every(seconds=60, jitter=30), id="j", misfire_grace=5, executor="inline"
    )
    await clock.advance(600)
    assert outcomes["success"] == 9  # the slot at 600 s runs up to 30 s (its jitter) later
    assert outcomes["missed"] == 0


async def test_declared_jobs_are_not_re_added_at_a_later_start(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    ran: list[str] = []

    @scheduler.at(START + timedelta(seconds=5), id="once", executor="inline")
    def once() -> None:
        ran.append("once")

    @scheduler.every(seconds=10, id="periodic", executor="inline")
    def periodic() -> None:
        ran.append("periodic")

    async with scheduler:
        await clock.advance(10)
        await scheduler.remove("periodic")
    async with scheduler:
        await clock.advance(30)
        assert await scheduler.jobs() == []
    assert ran == ["once", "periodic"]


async def test_remove_drops_pending_retries_and_forgets_the_job(
    running: Scheduler, clock: FakeClock
) -> None:
    attempts: list[int] = []

    async def fail() -> None:
        attempts.append(1)
        raise RuntimeError("no")

    await running.add(fail, After(1), id="f", retries=3, backoff=Backoff(initial=10, jitter=False))
    await clock.advance(2)
    await running.remove("f")
    await clock.advance(100)
    assert attempts == [1]
    assert running.statistics().jobs_active == 0


async def test_stop_called_from_inside_a_job_returns(running: Scheduler, clock: FakeClock) -> None:
    stopped = asyncio.Event()

    async def stopper() -> None:
        await running.stop()
        stopped.set()

    await running.add(stopper, After(1), id="s")
    clock.jump(1)
    await asyncio.wait_for(stopped.wait(), 5)
    assert not running.running


async def test_a_timer_returning_while_stop_waits_is_ended_not_rescheduled(
    running: Scheduler, clock: FakeClock
) -> None:
    gate = asyncio.Event()
    ended: list[Timer] = []

    async def step() -> float:
        await gate.wait()
        return 5.0

    timer = running.call_later(1, step)
    timer.add_done_callback(ended.append)
    await clock.advance(1)
    stopping = asyncio.create_task(running.stop())
    await asyncio.sleep(0)
    gate.set()
    await stopping
    assert timer.done and ended == [timer]
    assert running.statistics().local_entries == 0


async def test_a_timer_cancelled_while_waiting_for_a_slot_never_runs(clock: FakeClock) -> None:
    s = Scheduler(clock=clock, max_concurrency=1)
    hold = asyncio.Event()
    calls: list[int] = []

    async def blocker() -> None:
        await hold.wait()

    async def victim() -> None:
        calls.append(1)

    async with s:
        s.call_later(1, blocker)
        t = s.call_later(2, victim)
        await clock.advance(3)
        assert t.cancel()
        hold.set()
        await clock.advance(1)
        assert calls == []
        assert t.done


async def test_retries_dropped_at_stop_are_reported_as_cancelled_runs(
    running: Scheduler, clock: FakeClock
) -> None:
    finished: list[tuple[int, Outcome]] = []
    running.subscribe(lambda e: finished.append((e.run.attempt, e.run.outcome)), RunFinished)

    async def fail() -> None:
        raise RuntimeError("no")

    await running.add(fail, Every(hours=1), id="f", retries=2, backoff=Backoff(initial=10))
    await clock.advance(3600)
    await running.stop()
    assert finished == [(1, Outcome.ERROR), (2, Outcome.CANCELLED)]


async def test_wait_run_returns_after_the_run_is_in_the_history(
    running: Scheduler, clock: FakeClock
) -> None:
    await running.add(lambda: 42, At(START + timedelta(seconds=5)), id="j", executor="inline")
    await running.add(lambda: 1, Every(seconds=5), id="k", executor="inline")
    waiter = asyncio.create_task(running.wait_run("k"))
    await asyncio.sleep(0)
    await clock.advance(5)
    run = await waiter
    job = await running.get("k")
    assert job.last_run == run


async def test_stop_on_a_never_started_scheduler_closes_the_store(clock: FakeClock) -> None:
    s = Scheduler(clock=clock)
    await s.add(lambda: None, Every(seconds=1), id="j", executor="inline")
    assert s.statistics().store_open
    await s.stop()
    assert not s.statistics().store_open
    assert not s.running


async def test_a_run_now_run_is_kept_in_the_history(running: Scheduler, clock: FakeClock) -> None:
    def fail() -> None:
        raise RuntimeError("no")

    await running.add(fail, Every(hours=1), id="f", executor="inline")
    await running.run_now("f")
    await clock.advance(0)
    job = await running.get("f")
    assert job.last_run is not None and job.last_run.outcome is Outcome.ERROR
