"""Timers: callbacks that return their next delay."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from aioscheduler import Outcome, Scheduler, Timer, inline
from aioscheduler.errors import InvalidDelay, InvalidTrigger
from aioscheduler.events import RunFinished
from aioscheduler.testing import FakeClock

from .conftest import START


async def test_timer_reruns_after_the_delay_it_returns_and_ends_on_none(
    running: Scheduler, clock: FakeClock
) -> None:
    seen: list[float] = []

    async def step() -> float | None:
        seen.append(clock.time() - START.timestamp())
        return 2.0 if len(seen) < 3 else None

    timer = running.call_later(1.0, step)
    await clock.advance(10)
    assert seen == [1.0, 3.0, 5.0]
    assert timer.done
    assert timer.when is None


async def test_timedelta_delays_and_zero_ends_the_timer(
    running: Scheduler, clock: FakeClock
) -> None:
    seen: list[float] = []

    async def step() -> timedelta | int:
        seen.append(clock.time() - START.timestamp())
        return timedelta(milliseconds=500) if len(seen) < 2 else 0

    running.call_later(timedelta(seconds=1), step)
    await clock.advance(5)
    assert seen == [1.0, 1.5]


async def test_sync_timer_callback_runs_on_a_worker_thread(
    running: Scheduler, clock: FakeClock
) -> None:
    threads: list[int] = []

    def step() -> None:
        threads.append(threading.get_ident())

    running.call_later(1, step)
    await clock.advance(1)
    assert threads and threads[0] != threading.get_ident()


async def test_inline_timer_callback_runs_on_the_loop_thread(
    running: Scheduler, clock: FakeClock
) -> None:
    threads: list[int] = []

    @inline
    def step() -> None:
        threads.append(threading.get_ident())

    running.call_later(1, step)
    await clock.advance(1)
    assert threads == [threading.get_ident()]


async def test_cancel_before_firing_prevents_it_and_runs_done_callbacks(
    running: Scheduler, clock: FakeClock
) -> None:
    fired: list[int] = []
    done: list[Timer] = []
    timer = running.call_later(5, fired.append, 1)
    timer.add_done_callback(done.append)
    assert timer.when == START + timedelta(seconds=5)
    assert timer.cancel() is True
    assert timer.cancel() is False
    await clock.advance(10)
    assert fired == []
    assert timer.cancelled
    assert done == [timer]


async def test_a_timer_can_cancel_itself_from_inside_its_callback(
    running: Scheduler, clock: FakeClock
) -> None:
    calls: list[int] = []
    holder: list[Timer] = []

    async def step() -> float:
        calls.append(1)
        holder[0].cancel()
        return 1.0  # ignored: the timer was cancelled

    holder.append(running.call_later(1, step))
    await clock.advance(10)
    assert calls == [1]
    assert holder[0].done


async def test_negative_returned_delay_is_reported_and_ends_the_timer(
    running: Scheduler, clock: FakeClock
) -> None:
    finished: list[RunFinished] = []
    running.subscribe(finished.append, RunFinished)
    calls: list[int] = []

    async def step() -> float:
        calls.append(1)
        return -1.0

    timer = running.call_later(1, step)
    await clock.advance(5)
    assert calls == [1]
    assert timer.done
    assert [e.run.outcome for e in finished] == [Outcome.ERROR]
    assert isinstance(finished[0].run.error, InvalidDelay)
    assert finished[0].run.timer is timer


async def test_exception_in_timer_callback_ends_it_and_scheduler_keeps_running(
    running: Scheduler, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom() -> float:
        raise RuntimeError("boom")

    other: list[int] = []
    failing = running.call_later(1, boom)
    running.call_later(2, other.append, 2)
    await clock.advance(3)
    assert failing.done
    assert other == [2]
    assert running.running
    assert "boom" in caplog.text


@pytest.mark.parametrize("delay", [-1, float("nan"), float("inf"), "1", True, None])
def test_bad_delay_is_rejected_at_call_later(scheduler: Scheduler, delay: object) -> None:
    if delay is None:
        timer = scheduler.call_later(delay, print)  # type: ignore[arg-type]  # None means now
        assert timer.when == START
        return
    with pytest.raises(InvalidDelay, match=repr(delay)[:3]):
        scheduler.call_later(delay, print)  # type: ignore[arg-type]


def test_call_later_rejects_a_non_callable(scheduler: Scheduler) -> None:
    with pytest.raises(TypeError, match="callable"):
        scheduler.call_later(1, "not callable")  # type: ignore[arg-type]


async def test_call_at_takes_aware_datetimes_and_naive_only_with_a_timezone(
    clock: FakeClock,
) -> None:
    s = Scheduler(clock=clock)
    with pytest.raises(InvalidTrigger, match="naive"):
        s.call_at(START.replace(tzinfo=None), print)
    berlin = Scheduler(clock=clock, timezone="Europe/Berlin")
    timer = berlin.call_at(START.replace(tzinfo=None, hour=13), print)
    assert timer.when == START  # 13:00 in Berlin (CET, UTC+1) is 12:00 UTC


async def test_timers_made_before_start_wait_for_start(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    fired: list[float] = []
    scheduler.call_later(1, lambda: fired.append(clock.time()))
    clock.jump(5)  # advance() refuses a scheduler that was never started
    await asyncio.sleep(0)
    assert fired == []  # not started: nothing runs
    await scheduler.start()
    await clock.advance(0)
    assert fired == [START.timestamp() + 5]  # late, but it ran


async def test_call_later_from_eight_threads_loses_nothing(
    running: Scheduler, clock: FakeClock
) -> None:
    fired: list[int] = []
    barrier = threading.Barrier(8)

    def register(k: int) -> None:
        barrier.wait()
        for i in range(100):
            running.call_later(1 + i % 5, inline(lambda v=k * 1000 + i: fired.append(v)))

    threads = [threading.Thread(target=register, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    await clock.advance(10)
    assert sorted(fired) == sorted(k * 1000 + i for k in range(8) for i in range(100))


async def test_stop_ends_pending_timers_and_calls_their_done_callbacks(
    running: Scheduler, clock: FakeClock
) -> None:
    ended: list[Timer] = []
    timer = running.call_later(100, print)
    timer.add_done_callback(ended.append)
    await running.stop()
    assert ended == [timer]
    assert timer.done
