"""Overlap, misfire grace, coalescing, clock jumps, concurrency, timeouts, retries."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from aioscheduler import Backoff, Cron, Every, Outcome, Run, Scheduler
from aioscheduler.errors import JobTimeout
from aioscheduler.events import (
    ClockJumped,
    JobPausedAfterFailures,
    RunFinished,
    RunMissed,
    RunSkipped,
)
from aioscheduler.testing import FakeClock

from .conftest import START


def rel(clock: FakeClock) -> float:
    return clock.time() - START.timestamp()


async def test_skip_overlap_skips_and_reports_firings_while_running(
    running: Scheduler, clock: FakeClock
) -> None:
    release = asyncio.Event()
    starts: list[float] = []
    skipped: list[RunSkipped] = []
    running.subscribe(skipped.append, RunSkipped)

    async def slow() -> None:
        starts.append(rel(clock))
        await release.wait()

    await running.add(slow, Every(seconds=1), id="slow")
    await clock.advance(3.5)
    assert starts == [1.0]
    assert len(skipped) == 2
    assert skipped[0].run.reason == "previous run still running"
    assert skipped[0].run.outcome is Outcome.SKIPPED
    release.set()
    await clock.advance(1)
    assert starts == [1.0, 4.0]


async def test_queue_overlap_keeps_at_most_one_waiting(
    running: Scheduler, clock: FakeClock
) -> None:
    gate = asyncio.Event()
    starts: list[float] = []
    skipped: list[RunSkipped] = []
    running.subscribe(skipped.append, RunSkipped)

    async def slow() -> None:
        starts.append(rel(clock))
        if len(starts) == 1:
            await gate.wait()

    await running.add(slow, Every(seconds=1), id="q", overlap="queue")
    await clock.advance(3.5)  # firings at 2 and 3 come while the first runs
    assert starts == [1.0]
    assert [e.run.reason for e in skipped] == ["a run is already queued"]
    gate.set()
    await clock.advance(0)
    assert starts == [1.0, 3.5]  # the queued firing ran right after the first ended


async def test_allow_overlap_runs_concurrently_up_to_max_instances(
    running: Scheduler, clock: FakeClock
) -> None:
    gate = asyncio.Event()
    active: list[int] = [0]
    peak: list[int] = [0]

    async def slow() -> None:
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        await gate.wait()
        active[0] -= 1

    await running.add(slow, Every(seconds=1), id="a", overlap="allow", max_instances=3)
    await clock.advance(5)
    assert peak[0] == 3
    gate.set()
    await clock.advance(0)
    assert active[0] == 0


async def test_replace_overlap_cancels_the_running_run(
    running: Scheduler, clock: FakeClock
) -> None:
    finished: list[Run] = []
    running.subscribe(lambda e: finished.append(e.run), RunFinished)

    async def hang() -> None:
        await asyncio.Event().wait()

    await running.add(hang, Every(seconds=1), id="r", overlap="replace")
    await clock.advance(2)
    assert [r.outcome for r in finished] == [Outcome.CANCELLED]
    assert finished[0].reason == "replaced by a newer run"
    await running.stop(timeout=0)  # the newest run still hangs: cancel it


async def test_misfire_grace_reports_late_firings_missed(
    running: Scheduler, clock: FakeClock
) -> None:
    calls: list[float] = []
    missed: list[RunMissed] = []
    running.subscribe(missed.append, RunMissed)
    await running.add(
        lambda: calls.append(rel(clock)),
        Every(seconds=10),
        id="m",
        misfire_grace=5,
        coalesce=False,
        executor="inline",
    )
    clock.jump(38)  # firings at 10, 20, 30 are late; 30 by 8 s, beyond the 5 s grace
    await clock.advance(0)
    assert calls == []
    assert len(missed) == 1 and missed[0].run.missed == 3
    await clock.advance(2)  # now 40: on time again
    assert calls == [40.0]


async def test_without_coalescing_each_late_firing_within_grace_runs(
    running: Scheduler, clock: FakeClock
) -> None:
    scheduled: list[Run] = []
    running.subscribe(lambda e: scheduled.append(e.run), RunFinished)
    await running.add(
        lambda: None, Every(seconds=1), id="c", coalesce=False, executor="inline", overlap="allow"
    )
    clock.jump(3.5)
    await clock.advance(0)
    assert [r.scheduled_at for r in scheduled] == [START + timedelta(seconds=s) for s in (1, 2, 3)]


async def test_coalescing_folds_late_firings_into_one_run(
    running: Scheduler, clock: FakeClock
) -> None:
    runs: list[Run] = []
    running.subscribe(lambda e: runs.append(e.run), RunFinished)
    await running.add(lambda: None, Every(seconds=1), id="c", executor="inline")
    clock.jump(10.5)
    await clock.advance(0)
    assert len(runs) == 1
    assert runs[0].missed == 9  # firings 2..10 folded into the run for 10
    assert runs[0].scheduled_at == START + timedelta(seconds=10)
    assert (await running.get("c")).next_run_at == START + timedelta(seconds=11)


async def test_clock_jump_is_detected_and_reported(running: Scheduler, clock: FakeClock) -> None:
    jumps: list[ClockJumped] = []
    running.subscribe(jumps.append, ClockJumped)
    await clock.advance(1)
    clock.jump(3600)
    await clock.advance(0)
    assert len(jumps) == 1
    assert jumps[0].delta == timedelta(seconds=3600)


async def test_max_concurrency_makes_extra_firings_wait(clock: FakeClock) -> None:
    s = Scheduler(clock=clock, max_concurrency=2)
    gate = asyncio.Event()
    active, peak = [0], [0]

    async def work() -> None:
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        await gate.wait()
        active[0] -= 1

    for i in range(5):
        await s.add(work, Every(seconds=1), id=f"w{i}")
    async with s:
        await clock.advance(1)
        assert active[0] == 2
        gate.set()
        await clock.advance(0)
        assert peak[0] == 2
        jobs = await s.jobs()
        assert all(j.last_run is not None and j.last_run.outcome is Outcome.SUCCESS for j in jobs)


async def test_timeout_cancels_a_hung_async_run_and_the_next_firing_runs(
    running: Scheduler, clock: FakeClock
) -> None:
    starts: list[float] = []

    async def hang() -> None:
        starts.append(rel(clock))
        await asyncio.Event().wait()  # hangs forever

    await running.add(hang, Every(seconds=10), id="h", timeout=5)
    await clock.advance(25)
    job = await running.get("h")
    assert starts == [10.0, 20.0]
    assert job.history[0].outcome is Outcome.TIMEOUT
    assert isinstance(job.history[0].error, JobTimeout)
    await running.stop(timeout=0)


async def test_retries_follow_the_backoff_and_count_attempts(
    running: Scheduler, clock: FakeClock
) -> None:
    attempts: list[tuple[float, int]] = []

    async def flaky() -> None:
        from aioscheduler import current_run

        run = current_run()
        assert run is not None
        attempts.append((rel(clock), run.attempt))
        raise ConnectionError("down")

    await running.add(
        flaky,
        Cron("0 * * * *"),
        id="f",
        retries=3,
        backoff=Backoff(initial=10, factor=2, max=25, jitter=False),
    )
    await clock.advance(3600)  # first firing at 13:00 UTC == +3600 s
    await clock.advance(100)
    assert attempts == [(3600.0, 1), (3610.0, 2), (3630.0, 3), (3655.0, 4)]


async def test_retries_stop_at_stop_and_are_reported_cancelled(
    running: Scheduler, clock: FakeClock
) -> None:
    async def fail() -> None:
        raise RuntimeError("no")

    await running.add(fail, Every(hours=1), id="f", retries=5, backoff=Backoff(initial=60))
    await clock.advance(3600)
    await running.stop()
    job = await running.get("f")
    assert job.last_run is not None
    assert job.last_run.outcome is Outcome.CANCELLED
    assert job.last_run.attempt == 2


async def test_pause_after_consecutive_failures(running: Scheduler, clock: FakeClock) -> None:
    events: list[JobPausedAfterFailures] = []
    running.subscribe(events.append, JobPausedAfterFailures)

    async def fail() -> None:
        raise RuntimeError("no")

    await running.add(fail, Every(seconds=1), id="f", pause_after_failures=3)
    await clock.advance(5)
    job = await running.get("f")
    assert job.paused
    assert len(job.history) == 3
    assert [e.failures for e in events] == [3]


@pytest.mark.parametrize("grace", [None, 0.5])
async def test_on_time_firings_run_whatever_the_grace(
    running: Scheduler, clock: FakeClock, grace: float | None
) -> None:
    calls: list[float] = []
    await running.add(
        lambda: calls.append(rel(clock)),
        Every(seconds=1),
        id="g",
        misfire_grace=grace,
        executor="inline",
    )
    await clock.advance(3)
    assert calls == [1.0, 2.0, 3.0]


async def test_a_hung_thread_run_times_out_frees_its_slot_and_finishes_on_its_own(
    running: Scheduler, clock: FakeClock
) -> None:
    import threading

    release = threading.Event()
    calls: list[float] = []

    def maybe_hang() -> None:
        calls.append(rel(clock))
        if len(calls) == 1:
            release.wait(30)  # the first run hangs (a thread cannot be killed)

    await running.add(maybe_hang, Every(seconds=10), id="t", timeout=5)
    await clock.advance(21)
    job = await running.get("t")
    assert calls == [10.0, 20.0]  # the hung run did not block the next firing (overlap=skip)
    assert [r.outcome for r in job.history] == [Outcome.TIMEOUT, Outcome.SUCCESS]
    release.set()
