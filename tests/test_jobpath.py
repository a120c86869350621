"""The hot path of a job run (``_runjob.py``): what its shortcuts must leave as it was."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from datetime import timedelta
from typing import Any

from aioscheduler import At, Every, Run, Scheduler, current_run
from aioscheduler._values import JobSpec
from aioscheduler.stores._memory_jobs import Entry, JobHeap
from aioscheduler.testing import FakeClock

from .conftest import START


async def _settle(clock: FakeClock, until: timedelta) -> None:
    await clock.advance(until.total_seconds())
    for _ in range(20):
        await clock.advance(0)


async def test_current_run_is_the_recorded_run_for_firings_due_together_and_apart(
    running: Scheduler, clock: FakeClock
) -> None:
    """``current_run()`` converts ``scheduled_at`` through a one-entry cache: firings due at
    the same instant share it, one due at another instant must not get the cached value."""
    seen: dict[str, Run] = {}

    def make(name: str) -> Any:
        async def job() -> None:
            run = current_run()
            assert run is not None
            seen[name] = run

        return job

    due = {
        "a": START + timedelta(seconds=1),
        "b": START + timedelta(seconds=1),
        "c": START + timedelta(seconds=2),
        "d": START + timedelta(seconds=2),
        "e": START + timedelta(seconds=3),
    }
    for name, when in due.items():
        await running.add(make(name), At(when), id=name)
    await _settle(clock, timedelta(seconds=4))
    assert sorted(seen) == sorted(due)
    for name, when in due.items():
        run = seen[name]
        assert type(run) is Run
        assert run.job_id == name
        assert run.scheduled_at == when
        assert run.scheduled_at.tzinfo is not None
        assert run.started_at is not None and run.finished_at is None
        assert run.outcome is None and run.attempt == 1
    assert seen["a"].scheduled_at is seen["b"].scheduled_at  # the cached conversion
    assert seen["c"].scheduled_at is seen["d"].scheduled_at


async def test_a_task_factory_of_the_loop_makes_the_job_tasks(
    running: Scheduler, clock: FakeClock
) -> None:
    """The runner makes a job's task without ``loop.create_task()`` only when the loop has
    no task factory: a factory that is set still makes every run's task."""
    loop = asyncio.get_running_loop()
    made: set[asyncio.Future[Any]] = set()

    def factory(
        loop: asyncio.AbstractEventLoop,
        coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any],
        **kwargs: Any,
    ) -> asyncio.Future[Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        made.add(task)
        return task

    in_task: list[bool] = []

    async def job() -> None:
        in_task.append(asyncio.current_task() in made)

    loop.set_task_factory(factory)
    try:
        await running.add(job, At(START + timedelta(seconds=1)), id="j")
        await _settle(clock, timedelta(seconds=2))
    finally:
        loop.set_task_factory(None)
    assert in_task == [True]


async def test_current_run_is_none_again_after_a_run(running: Scheduler, clock: FakeClock) -> None:
    """The run's context variable is set in the run's own task only (the lean path does not
    reset it at the end): nothing outside the run sees it, a later run sees its own."""
    seen: list[str | None] = []

    async def job() -> None:
        run = current_run()
        seen.append(None if run is None else run.job_id)

    await running.add(job, At(START + timedelta(seconds=1)), id="first")
    await _settle(clock, timedelta(seconds=2))
    assert current_run() is None
    await running.add(job, At(START + timedelta(seconds=3)), id="second")
    await _settle(clock, timedelta(seconds=2))
    assert current_run() is None
    assert seen == ["first", "second"]


def test_a_loop_with_its_own_create_task_makes_the_job_tasks() -> None:
    """A loop class whose ``create_task()`` is not asyncio's (an instrumented loop) keeps
    making every run's task: the runner's shortcut applies to asyncio's own only."""
    made: list[asyncio.Task[Any]] = []

    class Loop(asyncio.SelectorEventLoop):
        def create_task(self, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
            task = super().create_task(coro, **kwargs)
            made.append(task)
            return task

    in_task: list[bool] = []

    async def job() -> None:
        in_task.append(asyncio.current_task() in made)

    async def main() -> None:
        clock = FakeClock(START)
        async with Scheduler(clock=clock) as s:
            await s.add(job, At(START + timedelta(seconds=1)), id="j")
            await _settle(clock, timedelta(seconds=2))

    loop = Loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert in_task == [True]


def test_heap_items_due_together_share_their_due_time_and_come_out_in_order() -> None:
    """``JobHeap.push`` gives an item due at the same time as the one pushed before the same
    float object (compared by identity in the heap); order and values are unchanged."""
    jobs = {f"j{i}": Entry(JobSpec(f"j{i}", _noop, Every(1)), 10) for i in range(6)}
    heap = JobHeap(jobs)
    dues = [float(str(7.25)), float(str(7.25)), 3.0, float(str(7.25)), 3.0, 9.5]
    for due, e in zip(dues, jobs.values(), strict=True):
        heap.push(due, e)
    first, second = jobs["j0"].heap_item[0], jobs["j1"].heap_item[0]
    assert first == second == 7.25 and first is second
    assert [e.heap_item[0] for e in jobs.values()] == dues
    out = heap.pop_due(8.0, -1)
    assert [e.spec.id for e in out] == ["j2", "j4", "j0", "j1", "j3"]  # FIFO among equals
    assert heap.peek() == 9.5


async def _noop() -> None:
    return None
