"""The steps of a backlog chain (coalesce=False catch-up) run on in one task (issue 11,
perf10k): each firing still runs exactly once, one at a time, in order, with its own
``current_run()``, outcome and history, whatever happens to the step before it."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

import pytest

from aioscheduler import Every, Outcome, Run, Scheduler, current_run
from aioscheduler._runner import CHAIN_BURST
from aioscheduler.events import RunFinished
from aioscheduler.testing import FakeClock

from .conftest import START


def rel(run: Run) -> float:
    return run.scheduled_at.timestamp() - START.timestamp()


class Inline:
    """A coroutine job that never suspends: a whole chain could run in one loop step."""

    def __init__(self) -> None:
        self.seen: list[float] = []
        self.tasks: set[asyncio.Task[object] | None] = set()
        self.running = 0
        self.most = 0

    async def __call__(self) -> None:
        run = current_run()
        assert run is not None
        self.running += 1
        self.most = max(self.most, self.running)
        self.seen.append(rel(run))
        self.tasks.add(asyncio.current_task())
        self.running -= 1


def finished_runs(s: Scheduler) -> list[Run]:
    runs: list[Run] = []
    s.subscribe(lambda e: runs.append(e.run), RunFinished)
    return runs


async def test_a_long_chain_of_a_job_that_never_suspends_runs_each_firing_once_in_order(
    running: Scheduler, clock: FakeClock
) -> None:
    job = Inline()
    runs = finished_runs(running)
    n = 3 * CHAIN_BURST + 5  # more than one task's share of steps
    await running.add(job, Every(seconds=10), id="j", coalesce=False, overlap="allow")
    clock.jump(10 * n)
    await clock.advance(0)
    assert job.seen == [10.0 * k for k in range(1, n + 1)]
    assert job.most == 1
    assert [rel(r) for r in runs] == job.seen
    assert all(r.outcome is Outcome.SUCCESS for r in runs)
    assert len(job.tasks) < n  # steps shared tasks (fewer tasks than firings)
    await clock.advance(10)  # back on time: the chain has ended, the next firing is normal
    assert job.seen[-1] == 10.0 * (n + 1)
    assert running.statistics().running == 0


async def test_a_chain_step_that_fails_or_times_out_is_recorded_and_the_chain_goes_on(
    running: Scheduler, clock: FakeClock
) -> None:
    seen: list[float] = []

    async def job() -> None:
        run = current_run()
        assert run is not None
        seen.append(rel(run))
        if rel(run) == 20:
            raise ValueError("boom")
        if rel(run) == 30:
            await asyncio.Event().wait()  # hangs: its timeout cancels it

    runs = finished_runs(running)
    await running.add(job, Every(seconds=10), id="j", coalesce=False, timeout=1)
    clock.jump(50)  # 10..50 due at once
    await clock.advance(0)
    assert seen == [10, 20, 30]
    await clock.advance(1)  # 30 times out; 40 and 50 follow in order
    assert seen == [10, 20, 30, 40, 50]
    by_time = {rel(r): r.outcome for r in runs}
    assert by_time == {
        10: Outcome.SUCCESS,
        20: Outcome.ERROR,
        30: Outcome.TIMEOUT,
        40: Outcome.SUCCESS,
        50: Outcome.SUCCESS,
    }
    history = (await running.get("j")).history
    assert [rel(r) for r in history][-5:] == [10, 20, 30, 40, 50]


async def test_a_job_removed_mid_chain_runs_no_more_of_it(
    running: Scheduler, clock: FakeClock
) -> None:
    seen: list[float] = []

    async def job() -> None:
        run = current_run()
        assert run is not None
        seen.append(rel(run))
        if rel(run) == 20:
            await running.remove("j")  # from inside a step: the rest of the chain goes

    await running.add(job, Every(seconds=10), id="j", coalesce=False)
    clock.jump(50)
    await clock.advance(0)
    assert seen == [10, 20]
    assert running.statistics().running == 0


async def test_stop_during_a_chain_cancels_the_waiting_firings(clock: FakeClock) -> None:
    s = Scheduler(clock=clock)
    seen: list[float] = []
    runs = finished_runs(s)

    async def job() -> None:
        run = current_run()
        assert run is not None
        seen.append(rel(run))
        if rel(run) == 20:
            await asyncio.sleep(3600)

    await s.add(job, Every(seconds=10), id="j", coalesce=False)
    await s.start()
    clock.jump(50)
    await clock.advance(0)
    await s.stop(timeout=0)
    assert seen == [10, 20]
    by_time = {rel(r): r.outcome for r in runs}
    assert by_time[10] is Outcome.SUCCESS
    assert {by_time[t] for t in (20, 30, 40, 50)} == {Outcome.CANCELLED}


@pytest.mark.parametrize("bound", [1, 2])
async def test_a_chain_under_a_concurrency_bound_still_runs_in_order(
    clock: FakeClock, bound: int
) -> None:
    s = Scheduler(clock=clock, max_concurrency=bound)
    job = Inline()
    await s.add(job, Every(seconds=10), id="j", coalesce=False)
    await s.start()
    try:
        clock.jump(200)
        await clock.advance(0)
        assert job.seen == [10.0 * k for k in range(1, 21)]
        assert job.most == 1
    finally:
        await s.stop()


async def test_a_late_job_claimed_in_pieces_loses_and_doubles_nothing(
    running: Scheduler, clock: FakeClock
) -> None:
    """More firings due than one claim takes (MAX_BACKLOG_PER_ACQUIRE): the store hands them
    out over several claims; the chain joins them in order."""
    from aioscheduler.stores._planning import MAX_BACKLOG_PER_ACQUIRE

    job = Inline()
    n = 2 * MAX_BACKLOG_PER_ACQUIRE + 17
    await running.add(job, Every(seconds=1), id="j", coalesce=False)
    clock.jump(n)
    await clock.advance(0)
    assert job.seen == [float(k) for k in range(1, n + 1)]
    assert job.most == 1


_VAR: ContextVar[float | None] = ContextVar("_VAR", default=None)


async def test_each_step_of_a_chain_sees_a_fresh_context(
    running: Scheduler, clock: FakeClock
) -> None:
    """A run that sets a context variable does not hand it to the next run of its chain."""
    seen: list[tuple[float, float | None]] = []

    async def job() -> None:
        run = current_run()
        assert run is not None
        seen.append((rel(run), _VAR.get()))
        if rel(run) != 30:  # 30 leaves the context as it found it
            _VAR.set(rel(run))

    await running.add(job, Every(seconds=10), id="j", coalesce=False)
    clock.jump(60)
    await clock.advance(0)
    assert seen == [(10.0 * k, None) for k in range(1, 7)]
