"""stop() at its edges: a dispatcher frozen in a store call past its cancellation, runs ended
by Ctrl-C (``KeyboardInterrupt``/``SystemExit`` raised inside them), timers that outlive their
cancellation.

The interrupt tests drive their own event loop: an interrupt raised inside a run leaves the loop
(as a second Ctrl-C does in ``asyncio.run``), and the test then runs ``stop()`` on the same loop,
as ``asyncio.run``'s clean-up would.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

import pytest

from aioscheduler import Every, Job, Outcome, Scheduler
from aioscheduler.events import SchedulerStopped
from aioscheduler.stores._base import Claim
from aioscheduler.stores.memory import MemoryStore
from aioscheduler.testing import FakeClock
from tests.conftest import START


class FrozenClaims(MemoryStore):
    """A memory store whose ``acquire_due`` can freeze like a driver stuck in a query: it
    ignores cancellation until thawed, then answers."""

    def __init__(self) -> None:
        super().__init__()
        self.freeze = False
        self.entered: asyncio.Event | None = None
        self.thaw: asyncio.Event | None = None
        self.cancels_ignored = 0

    async def acquire_due(self, now: float, limit: int) -> list[Claim]:
        if self.freeze:
            self.freeze = False
            assert self.entered is not None and self.thaw is not None
            self.entered.set()
            while not self.thaw.is_set():
                try:
                    await self.thaw.wait()
                except asyncio.CancelledError:
                    self.cancels_ignored += 1
        return await super().acquire_due(now, limit)


async def _until(condition: Any, what: str) -> None:
    """Wait (bounded, 10 s) until ``condition()`` holds."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_claim_answered_after_stop_began_is_refused_not_run(clock: FakeClock) -> None:
    """The dispatcher is abandoned in a frozen claim; when the claim answers while stop() waits
    for a running job, the claimed firing must not start (it would outlive the stop): it is
    recorded cancelled, and its callable never runs."""
    store = FrozenClaims()
    store.entered, store.thaw = asyncio.Event(), asyncio.Event()
    release = asyncio.Event()
    victim_calls: list[int] = []
    stopped: list[SchedulerStopped] = []

    async def hang() -> None:
        await release.wait()

    async def victim() -> None:
        victim_calls.append(1)

    s = Scheduler(store=store, clock=clock)
    s.subscribe(stopped.append, SchedulerStopped)
    await s.add(hang, Every(hours=1, start_at=START + timedelta(seconds=1)), id="hang")
    await s.add(victim, Every(hours=1, start_at=START + timedelta(seconds=2)), id="victim")
    await s.start()
    try:
        await clock.advance(1)  # hang runs (and waits)
        store.freeze = True
        await clock.advance(1)  # the dispatcher claims victim: the store freezes
        await asyncio.wait_for(store.entered.wait(), 5)
        stop = asyncio.create_task(s.stop())
        runner = s._engine.runner
        # the dispatcher is cancelled, then abandoned; the runner was closed before that
        await _until(lambda: store.cancels_ignored == 1, "stop() to give up on the dispatcher")
        assert runner._closed
        store.thaw.set()  # the claim answers: victim is handed to a runner that stopped
        await _until(lambda: not store.io_in_flight() and not s.statistics().abandoned, "thaw")
        assert victim_calls == []
        assert not stop.done()  # still waiting for hang
        release.set()
        await asyncio.wait_for(stop, 10)
    finally:
        store.thaw.set()
        release.set()
        await s.stop()
    assert victim_calls == []
    victim_job = await s.get("victim")
    assert victim_job.last_run is not None
    assert victim_job.last_run.outcome is Outcome.CANCELLED
    assert victim_job.last_run.reason == "scheduler stopped"
    hang_job = await s.get("hang")
    assert hang_job.last_run is not None and hang_job.last_run.outcome is Outcome.SUCCESS
    assert stopped and stopped[0].abandoned == ()


def _own_loop() -> tuple[asyncio.AbstractEventLoop, list[dict[str, Any]]]:
    loop = asyncio.new_event_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    return loop, reported


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Close ``loop`` as ``asyncio.run`` does: cancel what is left and let it end first."""
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.wait(tasks))
    loop.close()


def _interrupting(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None], exc: type[BaseException]
) -> asyncio.Task[None]:
    """Run ``coro`` on ``loop`` until an interrupt raised inside a run leaves the loop."""
    task = loop.create_task(coro)
    with pytest.raises(exc):
        loop.run_until_complete(task)
    return task


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_a_job_run_ended_by_an_interrupt_is_recorded_cancelled_at_stop(
    exc: type[BaseException],
) -> None:
    loop, reported = _own_loop()
    clock = FakeClock(START)
    s = Scheduler(clock=clock)

    async def interrupted() -> None:
        raise exc

    try:
        loop.run_until_complete(s.add(interrupted, Every(seconds=1), id="ctrl-c"))
        loop.run_until_complete(s.start())
        _interrupting(loop, clock.advance(1), exc)
        loop.run_until_complete(s.stop())
        assert not s.running
        job = loop.run_until_complete(s.get("ctrl-c"))
    finally:
        _close(loop)
    assert job.last_run is not None
    assert job.last_run.outcome is Outcome.CANCELLED
    assert job.last_run.reason == f"interrupted ({exc.__name__})"
    del s
    gc.collect()
    assert not [c for c in reported if "never retrieved" in c.get("message", "")], reported


def test_a_timer_run_ended_by_an_interrupt_ends_the_timer_at_stop() -> None:
    loop, reported = _own_loop()
    clock = FakeClock(START)
    s = Scheduler(clock=clock)

    async def interrupted() -> float:
        raise KeyboardInterrupt

    try:
        loop.run_until_complete(s.start())
        timer = s.call_later(1, interrupted)
        _interrupting(loop, clock.advance(1), KeyboardInterrupt)
        assert not timer.done  # its run died with the loop: nothing ended it yet
        loop.run_until_complete(s.stop())
    finally:
        _close(loop)
    assert timer.done and timer.when is None
    del s
    gc.collect()
    assert not [c for c in reported if "never retrieved" in c.get("message", "")], reported


def _stop_cancelled_after_an_interrupt(loop: asyncio.AbstractEventLoop) -> Job:
    """Ctrl-C ends one run, stop() waits for another and is cancelled; return that other job.
    The scheduler is local: once this returns, nothing references it or its runs' tasks."""
    clock = FakeClock(START)
    s = Scheduler(clock=clock)
    release = asyncio.Event()

    async def interrupted() -> None:
        raise KeyboardInterrupt

    async def waits() -> None:
        await release.wait()

    loop.run_until_complete(s.add(waits, Every(seconds=1), id="waits"))
    loop.run_until_complete(s.add(interrupted, Every(seconds=1), id="ki"))
    loop.run_until_complete(s.start())
    _interrupting(loop, clock.advance(1), KeyboardInterrupt)
    stop = loop.create_task(s.stop())
    runner = s._engine.runner
    loop.run_until_complete(_until(lambda: runner._closed, "stop() to reach the runner"))
    loop.run_until_complete(asyncio.sleep(0.01))  # stop() waits for "waits" (it never ends)
    assert not stop.done()
    stop.cancel()
    with pytest.raises(asyncio.CancelledError):
        loop.run_until_complete(stop)
    assert not s.running
    release.set()  # the other run ends on its own
    loop.run_until_complete(asyncio.sleep(0.01))
    loop.run_until_complete(s.stop())
    return loop.run_until_complete(s.get("waits"))


def test_a_stop_cancelled_by_a_second_interrupt_still_retrieves_the_runs_errors() -> None:
    """Ctrl-C ends a run; stop() waits for another run and is itself cancelled (the second
    Ctrl-C in ``asyncio.run``): the interrupted run's error must still be retrieved, so that
    asyncio never logs "Task exception was never retrieved" for it."""
    loop, reported = _own_loop()
    try:
        waits_job = _stop_cancelled_after_an_interrupt(loop)
    finally:
        _close(loop)
    assert waits_job.last_run is not None and waits_job.last_run.outcome is Outcome.SUCCESS
    gc.collect()
    assert not [c for c in reported if "never retrieved" in c.get("message", "")], reported


async def test_a_timer_that_ignores_its_cancellation_is_abandoned_at_stop(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    release = asyncio.Event()
    cancelled: list[int] = []

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                cancelled.append(1)

    stopped: list[SchedulerStopped] = []
    s = Scheduler(clock=clock)
    s.subscribe(stopped.append, SchedulerStopped)
    await s.start()
    timer = s.call_later(1, stubborn)
    try:
        await clock.advance(1)
        with caplog.at_level(logging.WARNING, "aioscheduler.runner"):
            await s.stop(timeout=0)
        assert cancelled  # it was cancelled, and went on
        assert stopped[0].abandoned == ("a timer",)
        assert timer.done
        assert any("a timer did not end" in r.getMessage() for r in caplog.records)
    finally:
        release.set()
        await asyncio.sleep(0)
        await s.stop()
