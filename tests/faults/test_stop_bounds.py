"""stop(timeout) is a real limit, whatever the callbacks do; Ctrl-C inside ``async with`` is
prompt and leaves no task pending (issue 10 item 7).

The bounds here are real time and generous: the property under test is "returns at all, and
about on time", which failed by tens of seconds or forever before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aioscheduler import Every, Outcome, Scheduler
from aioscheduler._stopping import CANCEL_GRACE, STOP_GRACE
from aioscheduler.events import SchedulerStopped
from aioscheduler.testing import FakeClock

ROOT = Path(__file__).resolve().parents[2]
#: stop(timeout) may take timeout + this (the grace for cancelled runs and for what follows),
#: plus slack for a loaded machine.
BOUND = CANCEL_GRACE + STOP_GRACE + 2.0


async def test_stop_returns_on_time_with_a_run_that_swallows_cancellation_forever(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    release = asyncio.Event()
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                swallowed += 1  # and carries on: the bug this guards against

    stopped: list[SchedulerStopped] = []
    s = Scheduler(clock=clock)
    s.subscribe(stopped.append, SchedulerStopped)
    await s.add(stubborn, Every(seconds=1), id="stubborn")
    await s.start()
    await clock.advance(1)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="aioscheduler"):
        await s.stop(timeout=0.2)
    elapsed = time.monotonic() - started
    assert elapsed < 0.2 + BOUND
    assert swallowed >= 1
    assert stopped[0].abandoned == ("job 'stubborn'",)
    assert any(
        "abandoned" in r.getMessage() and "stubborn" in r.getMessage() for r in caplog.records
    )
    job = await s.get("stubborn")
    assert job.last_run is not None
    assert (job.last_run.outcome, job.last_run.reason) == (
        Outcome.CANCELLED,
        "abandoned at stop: still running after cancellation",
    )
    release.set()  # the abandoned run ends later: it is not recorded a second time
    for _ in range(20):
        await asyncio.sleep(0)
    assert len((await s.get("stubborn")).history) == 1
    assert s.statistics().abandoned == 0


async def test_stop_returns_on_time_with_a_run_that_swallows_once_then_works_on(
    clock: FakeClock,
) -> None:
    async def slow_to_die() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(30)  # "cleanup" far longer than any grace

    s = Scheduler(clock=clock)
    await s.add(slow_to_die, Every(seconds=1), id="slow")
    await s.start()
    await clock.advance(1)
    started = time.monotonic()
    await s.stop(timeout=0.5)
    assert time.monotonic() - started < 0.5 + BOUND
    for task in asyncio.all_tasks():  # the abandoned run's task
        if getattr(task.get_coro(), "__qualname__", "") == "Runner._run":
            task.cancel()  # the test's own cleanup: end the 30 s "cleanup"
    await asyncio.sleep(0)


async def test_an_endless_but_cancellable_run_is_cancelled_at_the_timeout(
    clock: FakeClock,
) -> None:
    async def endless() -> None:
        while True:
            await asyncio.sleep(0.01)

    stopped: list[SchedulerStopped] = []
    s = Scheduler(clock=clock)
    s.subscribe(stopped.append, SchedulerStopped)
    await s.add(endless, Every(seconds=1), id="endless")
    await s.start()
    await clock.advance(1)
    started = time.monotonic()
    await s.stop(timeout=0.3)
    assert time.monotonic() - started < 0.3 + BOUND
    assert stopped[0].abandoned == ()
    job = await s.get("endless")
    assert job.last_run is not None and job.last_run.outcome is Outcome.CANCELLED


async def test_leaving_async_with_by_an_exception_cancels_running_work_at_once(
    clock: FakeClock,
) -> None:
    async def long() -> None:
        await asyncio.sleep(3600)

    s = Scheduler(clock=clock)
    await s.add(long, Every(seconds=1), id="long")
    started = time.monotonic()

    async def app() -> None:
        async with s:
            await clock.advance(1)
            raise RuntimeError("app failed")

    with pytest.raises(RuntimeError, match="app failed"):
        await app()
    assert time.monotonic() - started < BOUND
    job = await s.get("long")
    assert job.last_run is not None and job.last_run.outcome is Outcome.CANCELLED


def _ctrl_c(
    store: str, signals: int, tmp_path: Path, mode: str = "async-with"
) -> tuple[float, str]:
    """Start the app, wait for ``ready``, send SIGINT ``signals`` times (the second at a random
    moment), and return (seconds from the first signal to exit, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "from tests.faults.ctrl_c_app import run; run()", store, "30", mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        for _ in range(signals - 1):
            time.sleep(random.uniform(0.0, 0.3))
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        return time.monotonic() - started, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):  # a failed test must not leak them into the next
            if pipe is not None:
                pipe.close()


@pytest.mark.slow
@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_ctrl_c_inside_async_with_is_prompt_although_runs_would_take_30_s(
    store: str, tmp_path: Path
) -> None:
    url = "memory" if store == "memory" else f"sqlite:///{tmp_path / 'jobs.db'}"
    elapsed, err = _ctrl_c(url, 1, tmp_path)
    assert elapsed < BOUND + 3.0, err[-2000:]
    assert "KeyboardInterrupt" in err
    assert "was destroyed but it is pending" not in err


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["async-with", "serve"])
def test_a_second_ctrl_c_at_any_moment_leaves_no_task_pending(tmp_path: Path, mode: str) -> None:
    for attempt in range(4):
        url = f"sqlite:///{tmp_path / f'jobs{attempt}.db'}"
        elapsed, err = _ctrl_c(url, 2, tmp_path, mode)
        assert "was destroyed but it is pending" not in err, err[-3000:]
        assert "Task exception was never retrieved" not in err, err[-3000:]
        assert elapsed < BOUND + 3.0


async def test_a_thread_run_outliving_the_timeout_is_reported_as_abandoned(
    clock: FakeClock,
) -> None:
    import threading

    release = threading.Event()

    def blocking() -> None:
        release.wait(30)

    stopped: list[SchedulerStopped] = []
    s = Scheduler(clock=clock)
    s.subscribe(stopped.append, SchedulerStopped)
    await s.add(blocking, Every(seconds=1), id="blocking")
    await s.start()
    await clock.advance(1)
    started = time.monotonic()
    await s.stop(timeout=0.2)
    assert time.monotonic() - started < 0.2 + BOUND
    release.set()
    assert stopped[0].abandoned == ("job 'blocking' (on a worker thread)",)
    job = await s.get("blocking")
    assert job.last_run is not None
    assert job.last_run.outcome is Outcome.CANCELLED
    assert job.last_run.reason is not None and "worker thread" in job.last_run.reason


def test_while_stop_runs_under_asyncio_run_ctrl_c_is_raised_between_loop_callbacks() -> None:
    """asyncio.run()'s own SIGINT handler raises KeyboardInterrupt at any bytecode, also inside
    asyncio's bookkeeping (a lost wake-up there hung the program at exit); while stop() runs,
    the loop's handler replaces it, and the previous one is back afterwards."""
    seen: dict[str, object] = {}

    async def slow_to_cancel() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen["during"] = signal.getsignal(signal.SIGINT)
            raise

    async def main() -> None:
        seen["before"] = signal.getsignal(signal.SIGINT)
        s = Scheduler()
        await s.add(slow_to_cancel, Every(seconds=0.01), id="slow")
        await s.start()
        while s.statistics().running == 0:
            await asyncio.sleep(0.01)
        await s.stop(timeout=0)
        seen["after"] = signal.getsignal(signal.SIGINT)

    asyncio.run(main())
    assert getattr(seen["before"], "func", None).__name__ == "_on_sigint"  # type: ignore[union-attr]
    assert seen["during"] is not seen["before"]
    assert seen["during"] is not signal.default_int_handler
    assert seen["after"] is seen["before"]


def test_a_ctrl_c_during_stop_ends_asyncio_run_with_keyboard_interrupt_and_no_task_left() -> None:
    left: list[asyncio.Task[object]] = []

    async def slow_to_cancel() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C, at a known moment
            await asyncio.sleep(0.2)  # clean-up, cut short by the interrupt
            raise

    async def main() -> None:
        s = Scheduler()
        await s.add(slow_to_cancel, Every(seconds=0.01), id="slow")
        await s.start()
        while s.statistics().running == 0:
            await asyncio.sleep(0.01)
        try:
            await s.stop(timeout=0)
        finally:
            left.extend(t for t in asyncio.all_tasks() if t is not asyncio.current_task())

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(main())
    assert all(t.done() for t in left)
