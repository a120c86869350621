"""``scheduler.start_in_thread()``: the scheduler on its own loop in a daemon thread, driven by
blocking, thread-safe calls (issue 9: APScheduler's BackgroundScheduler, same engine).

A thread and its loop run in real time here: every wait has a generous bound."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aioscheduler import Every, Outcome, Scheduler, SchedulerThread
from aioscheduler.errors import JobNotFound, SchedulerStateError, StoreError
from aioscheduler.stores.sqlite import SQLiteStore

from . import fc_support

WAIT = 30.0  # real seconds: generous, never reached when things work


@pytest.fixture
def background() -> Iterator[SchedulerThread[Scheduler]]:
    handle = Scheduler().start_in_thread()
    yield handle
    handle.stop()


def test_jobs_added_from_the_calling_thread_run_in_the_scheduler_thread(
    background: SchedulerThread[Scheduler],
) -> None:
    ran = threading.Event()
    where: list[str] = []

    def job() -> None:
        where.append(threading.current_thread().name)
        ran.set()

    job_added = background.add(job, Every(seconds=0.02), id="job")
    assert job_added.id == "job" and background.running
    assert ran.wait(WAIT)
    assert [j.id for j in background.jobs()] == ["job"]
    assert background.pause("job").paused
    assert not background.resume("job").paused
    assert background.get("job").id == "job"
    background.remove("job")
    assert background.jobs() == []
    with pytest.raises(JobNotFound):
        background.remove("job")
    assert threading.current_thread().name not in where


def test_modify_reschedule_and_run_now_block_too(background: SchedulerThread[Scheduler]) -> None:
    background.add(fc_support.greet, Every(hours=1), id="g", args=("ann",))
    assert background.modify("g", args=("bob",)).args == ("bob",)
    assert background.reschedule("g", Every(hours=2)).trigger == Every(hours=2)
    done = threading.Event()
    background.scheduler.subscribe(lambda e: done.set())
    background.run_now("g")
    assert done.wait(WAIT)


def test_calls_from_many_threads_lose_nothing(background: SchedulerThread[Scheduler]) -> None:
    def add_some(k: int) -> None:
        for i in range(10):
            background.add(fc_support.greet, Every(hours=1), id=f"{k}-{i}", args=("x",))

    threads = [threading.Thread(target=add_some, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert len(background.jobs()) == 80


def test_stop_stops_the_scheduler_and_ends_the_thread() -> None:
    scheduler = Scheduler()
    handle = scheduler.start_in_thread(name="bg-test")
    assert any(t.name == "bg-test" for t in threading.enumerate())
    handle.stop()
    assert not handle.running and not scheduler.running
    assert not any(t.name == "bg-test" for t in threading.enumerate())
    handle.stop()  # a second stop does nothing
    with pytest.raises(SchedulerStateError, match="not running"):
        handle.jobs()


def test_a_job_may_stop_its_scheduler_without_deadlock() -> None:
    stopped = threading.Event()
    handle: list[SchedulerThread[Scheduler]] = []

    def stop_it() -> None:
        handle[0].stop()
        stopped.set()

    scheduler = Scheduler()
    handle.append(scheduler.start_in_thread())
    handle[0].add(stop_it, Every(seconds=0.02), id="stopper")
    assert stopped.wait(WAIT)
    for thread in threading.enumerate():  # the scheduler's thread ends on its own
        if thread.name == "aioscheduler":
            thread.join(WAIT)
    assert not scheduler.running and not handle[0].running


def test_a_blocking_call_from_the_schedulers_own_loop_is_refused(
    background: SchedulerThread[Scheduler],
) -> None:
    errors: list[BaseException] = []
    done = threading.Event()

    async def on_the_loop() -> None:
        try:
            background.jobs()
        except SchedulerStateError as exc:
            errors.append(exc)
        done.set()

    background.add(on_the_loop, Every(hours=1), id="loop", run_at_start=True)
    assert done.wait(WAIT)
    assert "await the Scheduler's method instead" in str(errors[0])
    assert background.get("loop").last_run.outcome is Outcome.SUCCESS  # type: ignore[union-attr]


def test_a_start_failure_is_raised_in_the_caller(tmp_path: Path) -> None:
    holder = Scheduler(store=SQLiteStore(tmp_path / "jobs.db")).start_in_thread()
    try:
        with pytest.raises(StoreError, match="already open by another scheduler"):
            Scheduler(store=SQLiteStore(tmp_path / "jobs.db")).start_in_thread()
    finally:
        holder.stop()


def test_starting_a_running_scheduler_in_a_thread_is_refused(
    background: SchedulerThread[Scheduler],
) -> None:
    with pytest.raises(SchedulerStateError, match="already running"):
        background.scheduler.start_in_thread()


def test_the_handle_is_a_context_manager() -> None:
    scheduler = Scheduler()
    with scheduler.start_in_thread() as handle:
        assert handle.running
    assert not scheduler.running


def test_decorating_from_another_thread_while_it_runs_adds_the_job(
    background: SchedulerThread[Scheduler],
) -> None:
    @background.scheduler.every(seconds=5, id="late")
    def late() -> None: ...

    deadline = time.monotonic() + WAIT
    while "late" not in [j.id for j in background.jobs()]:  # added on the loop, soon
        assert time.monotonic() < deadline
        time.sleep(0.01)
