"""The process executor: real worker processes, killed on timeout, replace and stop.

Process runs finish in real time while the fake clock stands still, so these tests wait for
reported runs with generous real-time bounds; the scheduling itself stays on the FakeClock.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from aioscheduler import Every, Outcome, Run, Scheduler
from aioscheduler._process import (
    ProcessPool,
    RemoteTraceback,
    _decode,
    _execute,
    _exit_description,
)
from aioscheduler.errors import InvalidJob, JobTimeout
from aioscheduler.events import RunFinished
from aioscheduler.testing import FakeClock

from . import process_support as ps

#: Real seconds a test may wait for a worker process (spawn start-up included).
PATIENCE = 15.0


async def until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Finished:
    """The runs a scheduler reports finished, in order."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.runs: list[Run] = []
        scheduler.subscribe(lambda e: self.runs.append(e.run), RunFinished)

    async def wait(self, n: int) -> Run:
        await until(lambda: len(self.runs) >= n, f"{n} finished run(s)")
        return self.runs[n - 1]


@pytest.fixture
async def procs(clock: FakeClock) -> AsyncIterator[Scheduler]:
    s = Scheduler(clock=clock, max_processes=1)
    await s.start()
    yield s
    await s.stop()


def pid_in(marker: Path) -> int | None:
    text = marker.read_text() if marker.exists() else ""
    return int(text) if text else None


async def read_pid(marker: Path) -> int:
    await until(lambda: pid_in(marker) is not None, f"a pid in {marker}")
    pid = pid_in(marker)
    assert pid is not None
    return pid


async def test_a_process_job_runs_in_another_process_and_returns_its_value(
    procs: Scheduler, clock: FakeClock
) -> None:
    finished = Finished(procs)
    await procs.add(ps.fib_and_pid, Every(seconds=10), id="fib", args=(20,), executor="process")
    await clock.advance(10)
    run = await finished.wait(1)
    assert run.outcome is Outcome.SUCCESS
    value, pid = run.result
    assert value == 6765
    assert pid != os.getpid()


async def test_an_exception_in_the_child_is_the_runs_error_with_the_child_traceback(
    procs: Scheduler, clock: FakeClock
) -> None:
    finished = Finished(procs)
    await procs.add(ps.fail, Every(seconds=10), id="f", args=("kaputt",), executor="process")
    await clock.advance(10)
    run = await finished.wait(1)
    assert run.outcome is Outcome.ERROR
    assert isinstance(run.error, ValueError) and str(run.error) == "kaputt"
    cause = run.error.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert "in fail\n    raise ValueError(message)" in cause.text


async def test_a_hung_process_run_times_out_its_process_is_killed_and_the_next_firing_runs(
    procs: Scheduler, clock: FakeClock, tmp_path: Path
) -> None:
    finished = Finished(procs)
    marker = tmp_path / "pid"
    await procs.add(
        ps.hang_once, Every(seconds=10), id="h", args=(str(marker),), executor="process", timeout=5
    )
    await clock.advance(10)
    hung = await read_pid(marker)
    await clock.advance(5)
    run = await finished.wait(1)
    assert run.outcome is Outcome.TIMEOUT
    assert isinstance(run.error, JobTimeout)
    assert not alive(hung)  # reported only once the process is gone
    await clock.advance(5)
    second = await finished.wait(2)
    assert second.outcome is Outcome.SUCCESS
    assert second.result != hung


async def test_replace_overlap_kills_the_running_process_run(
    procs: Scheduler, clock: FakeClock, tmp_path: Path
) -> None:
    finished = Finished(procs)
    marker = tmp_path / "pid"
    await procs.add(
        ps.hang_once, Every(seconds=10), id="r", args=(str(marker),), executor="process",
        overlap="replace",
    )  # fmt: skip
    await clock.advance(10)
    hung = await read_pid(marker)
    await clock.advance(10)
    old = await finished.wait(1)
    assert old.outcome is Outcome.CANCELLED and old.reason == "replaced by a newer run"
    assert not alive(hung)
    new = await finished.wait(2)
    assert new.outcome is Outcome.SUCCESS and new.result != hung


async def test_stop_kills_running_workers_and_leaves_no_child_process(
    clock: FakeClock, tmp_path: Path
) -> None:
    s = Scheduler(clock=clock, max_processes=2)
    finished = Finished(s)
    marker = tmp_path / "pid"
    await s.add(ps.fib_and_pid, Every(seconds=10), id="idle", args=(5,), executor="process")
    await s.add(ps.hang, Every(seconds=10), id="busy", args=(str(marker),), executor="process")
    await s.start()
    await clock.advance(10)
    hung = await read_pid(marker)
    done = await finished.wait(1)
    assert done.job_id == "idle"
    _, idle = done.result
    await s.stop(timeout=0)
    assert finished.runs[-1].job_id == "busy"
    assert finished.runs[-1].outcome is Outcome.CANCELLED
    assert not alive(hung) and not alive(idle)
    assert multiprocessing.active_children() == []


async def test_a_worker_that_dies_reports_a_clear_error_and_is_replaced(
    procs: Scheduler, clock: FakeClock
) -> None:
    finished = Finished(procs)
    await procs.add(ps.die, Every(seconds=10), id="d", args=(3,), executor="process")
    await procs.add(ps.fib_and_pid, Every(seconds=10), id="ok", args=(5,), executor="process")
    await clock.advance(10)
    runs = {(await finished.wait(1)).job_id: finished.runs[0]}
    second = await finished.wait(2)
    runs[second.job_id] = second
    died = runs["d"]
    assert died.outcome is Outcome.ERROR
    assert isinstance(died.error, BrokenProcessPool)
    assert "died while running the call (exit code 3)" in str(died.error)
    assert runs["ok"].outcome is Outcome.SUCCESS


@pytest.mark.parametrize(
    ("func", "message"),
    [
        pytest.param(ps.unsendable_result, "cannot be sent back", id="unpicklable-result"),
        pytest.param(ps.raise_unloadable, "Unloadable: 1/2", id="exception-not-unpicklable"),
        pytest.param(ps.exit_call, "raised SystemExit: 3", id="system-exit"),
    ],
)
async def test_what_cannot_come_back_from_the_child_is_reported_as_an_error(
    func: Callable[[], Any], message: str
) -> None:
    pool = ProcessPool(1)
    try:
        with pytest.raises(Exception, match=message) as caught:
            await pool.run(func, (), {})
        assert isinstance(caught.value.__cause__, RemoteTraceback)
        pid = pool.pids[0]
        assert (await pool.run(ps.fib_and_pid, (3,), {}))[1] == pid  # the worker still serves
    finally:
        await pool.aclose()


def nested() -> None:
    pass


@pytest.mark.parametrize(
    ("func", "args"),
    [
        pytest.param(lambda: None, (), id="lambda"),
        pytest.param(nested, (threading.Lock(),), id="unpicklable-argument"),
    ],
)
async def test_a_process_job_that_cannot_be_sent_to_a_process_fails_at_add(
    scheduler: Scheduler, func: Callable[..., Any], args: tuple[Any, ...]
) -> None:
    with pytest.raises(InvalidJob, match="cannot be sent to a process"):
        await scheduler.add(func, Every(seconds=1), id="x", args=args, executor="process")


async def test_max_processes_is_validated() -> None:
    with pytest.raises(ValueError, match="max_processes must be an int >= 1"):
        Scheduler(max_processes=0)


async def test_the_pool_runs_at_most_max_workers_calls_at_once() -> None:
    pool = ProcessPool(1)
    try:
        results = await asyncio.gather(*(pool.run(ps.fib_and_pid, (n,), {}) for n in (3, 4, 5)))
        assert [v for v, _ in results] == [2, 3, 5]
        assert len({pid for _, pid in results}) == 1
    finally:
        await pool.aclose()


async def test_a_call_cancelled_while_waiting_for_a_worker_leaves_the_pool_usable(
    tmp_path: Path,
) -> None:
    pool = ProcessPool(1)
    try:
        marker = tmp_path / "pid"
        busy = asyncio.ensure_future(pool.run(ps.hang, (str(marker),), {}))
        hung = await read_pid(marker)
        waiting = asyncio.ensure_future(pool.run(ps.fib_and_pid, (3,), {}))
        await asyncio.sleep(0.01)
        waiting.cancel()
        busy.cancel()
        await asyncio.gather(busy, waiting, return_exceptions=True)
        assert not alive(hung)
        value, pid = await pool.run(ps.fib_and_pid, (4,), {})
        assert value == 3 and pid != hung
    finally:
        await pool.aclose()


async def test_a_worker_ignoring_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    pool = ProcessPool(1, kill_grace=0.1)
    try:
        marker = tmp_path / "pid"
        call = asyncio.ensure_future(pool.run(ps.ignore_sigterm_and_hang, (str(marker),), {}))
        hung = await read_pid(marker)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert not alive(hung)
    finally:
        await pool.aclose()


async def test_calls_after_close_fail_clearly() -> None:
    pool = ProcessPool(1)
    await pool.aclose()
    with pytest.raises(BrokenProcessPool, match="shut down"):
        await pool.run(ps.fib_and_pid, (3,), {})


async def test_the_pool_waits_in_a_thread_where_the_loop_cannot_watch_pipes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unsupported(*args: object) -> None:
        raise NotImplementedError

    monkeypatch.setattr(asyncio.get_running_loop(), "add_reader", unsupported)
    pool = ProcessPool(1)
    try:
        assert (await pool.run(ps.fib_and_pid, (6,), {}))[0] == 8
    finally:
        await pool.aclose()
    assert multiprocessing.active_children() == []


async def test_a_large_payload_is_sent_without_blocking_the_loop() -> None:
    pool = ProcessPool(1)
    try:
        blob = b"x" * 1_000_000
        assert await pool.run(len, (blob,), {}) == 1_000_000
    finally:
        await pool.aclose()


async def test_workers_started_by_run_pending_end_at_stop(clock: FakeClock) -> None:
    s = Scheduler(clock=clock, max_processes=1)
    await s.add(ps.fib_and_pid, Every(seconds=10), id="p", args=(3,), executor="process")
    clock.jump(10)
    assert await s.run_pending() == 1
    job = await s.get("p")
    assert job.last_run is not None and job.last_run.outcome is Outcome.SUCCESS
    _, pid = job.last_run.result
    await s.stop()
    assert not alive(pid)
    assert multiprocessing.active_children() == []


async def test_a_worker_killed_from_outside_reports_the_signal(tmp_path: Path) -> None:
    pool = ProcessPool(1)
    try:
        marker = tmp_path / "pid"
        call = asyncio.ensure_future(pool.run(ps.hang, (str(marker),), {}))
        os.kill(await read_pid(marker), signal.SIGKILL)
        with pytest.raises(BrokenProcessPool, match="killed by SIGKILL"):
            await call
        assert pool.pids == []
    finally:
        await pool.aclose()


async def test_an_idle_worker_that_died_is_replaced_before_the_next_call() -> None:
    pool = ProcessPool(1)
    try:
        _, first = await pool.run(ps.fib_and_pid, (3,), {})
        os.kill(first, signal.SIGKILL)
        await until(lambda: not pool._idle[0].alive(), "the idle worker to die")
        value, second = await pool.run(ps.fib_and_pid, (4,), {})
        assert value == 3 and second != first
    finally:
        await pool.aclose()


def roundtrip(func: Callable[..., Any], *args: Any) -> Any:
    """What the parent makes of the child's reply, computed in this process."""
    return _decode(_execute(pickle.dumps((func, args, {}))))


def test_the_reply_of_a_call_carries_its_result() -> None:
    assert roundtrip(ps.fib_and_pid, 10) == (55, os.getpid())


@pytest.mark.parametrize(
    ("func", "error", "message"),
    [
        pytest.param(ps.fail, ValueError, "^boom$", id="exception"),
        pytest.param(ps.unsendable_result, TypeError, "cannot be sent back", id="result"),
        pytest.param(ps.raise_unloadable, RuntimeError, "Unloadable: 1/2", id="unloadable"),
        pytest.param(ps.exit_call, RuntimeError, "raised SystemExit: 3", id="system-exit"),
    ],
)
def test_the_reply_of_a_failed_call_raises_with_the_child_traceback(
    func: Callable[..., Any], error: type[Exception], message: str
) -> None:
    args = ("boom",) if func is ps.fail else ()
    with pytest.raises(error, match=message) as caught:
        roundtrip(func, *args)
    assert isinstance(caught.value.__cause__, RemoteTraceback)
    assert "Traceback (most recent call last)" in str(caught.value.__cause__)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (None, "exit code unknown"),
        (2, "exit code 2"),
        (-9, "killed by SIGKILL"),
        (-99, "signal 99"),
    ],
)
def test_exit_descriptions_name_the_signal(code: int | None, text: str) -> None:
    assert _exit_description(code).endswith(text)


async def test_closing_the_pool_under_a_running_call_fails_the_call_and_kills_its_worker(
    tmp_path: Path,
) -> None:
    pool = ProcessPool(1)
    marker = tmp_path / "pid"
    call = asyncio.ensure_future(pool.run(ps.hang, (str(marker),), {}))
    hung = await read_pid(marker)
    await pool.aclose()
    with pytest.raises(BrokenProcessPool, match="died while running the call"):
        await call
    assert not alive(hung)
    assert multiprocessing.active_children() == []
