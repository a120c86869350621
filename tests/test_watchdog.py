"""The loop-lag watchdog names what blocked the event loop (issue 10 item 11).

A blocked loop is real time by nature, so these tests block it for real (``time.sleep``) for
well over the threshold, and wait for the report with a generous bound.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import timedelta

import pytest

from aioscheduler import Every, Scheduler
from aioscheduler.events import LoopStalled
from aioscheduler.testing import FakeClock


async def _until(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        await asyncio.sleep(0.01)


async def test_a_job_that_blocks_the_loop_is_named_in_a_warning_and_an_event(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    s = Scheduler(clock=clock, loop_lag_threshold=timedelta(milliseconds=200))
    stalls: list[LoopStalled] = []
    s.subscribe(stalls.append, LoopStalled)

    async def blocker() -> None:
        time.sleep(1.0)  # noqa: ASYNC251 - the bug: a blocking call inside a coroutine

    await s.add(blocker, Every(seconds=10), id="blocker")
    with caplog.at_level(logging.WARNING, logger="aioscheduler.watchdog"):
        async with s:
            await clock.advance(10)
            await _until(lambda: any(e.job_id == "blocker" for e in stalls))
    # (a loaded machine may add stalls of its own: look for the one the job caused)
    stall = next(e for e in stalls if e.job_id == "blocker")
    assert stall.duration >= timedelta(seconds=0.7)
    assert "job 'blocker'" in stall.culprit and "in blocker" in stall.culprit
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "blocked for" in r.getMessage() and "job 'blocker'" in r.getMessage() for r in warnings
    )
    assert getattr(warnings[-1], "job_id", None) == "blocker"


async def test_a_stall_outside_any_job_is_reported_without_a_job_id(clock: FakeClock) -> None:
    s = Scheduler(clock=clock, loop_lag_threshold=0.2)
    stalls: list[LoopStalled] = []
    s.subscribe(stalls.append, LoopStalled)

    async def app_code() -> None:
        time.sleep(1.0)  # noqa: ASYNC251 - on purpose

    async with s:
        await asyncio.create_task(app_code())
        await _until(lambda: any("app_code" in e.culprit for e in stalls))
    stall = next(e for e in stalls if "app_code" in e.culprit)
    assert stall.job_id is None
    assert stall.duration >= timedelta(seconds=0.7)


async def test_a_loop_stuck_for_ten_thresholds_is_reported_while_it_is_stuck(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    s = Scheduler(clock=clock, loop_lag_threshold=0.05)

    def stuck() -> None:
        time.sleep(1.5)

    await s.add(stuck, Every(seconds=10), id="stuck", executor="inline")
    with caplog.at_level(logging.WARNING, logger="aioscheduler.watchdog"):
        async with s:
            await clock.advance(10)
            await _until(lambda: any("and still is" in r.getMessage() for r in caplog.records))
    messages = [r.getMessage() for r in caplog.records]
    assert any("and still is" in m and "job 'stuck'" in m for m in messages), messages


async def test_the_watchdog_is_off_with_none(clock: FakeClock) -> None:
    s = Scheduler(clock=clock, loop_lag_threshold=None)
    stalls: list[LoopStalled] = []
    s.subscribe(stalls.append, LoopStalled)
    async with s:
        assert not s.statistics().watchdog
        time.sleep(0.3)  # noqa: ASYNC251 - on purpose
        await asyncio.sleep(0.05)
    assert stalls == []


async def test_the_watchdog_stops_with_the_scheduler(clock: FakeClock) -> None:
    s = Scheduler(clock=clock)
    async with s:
        assert s.statistics().watchdog
        [thread] = [t for t in threading.enumerate() if t.name == "aioscheduler-watchdog"]
    assert not s.statistics().watchdog
    thread.join(5)
    assert not thread.is_alive()


@pytest.mark.parametrize("bad", [0, -1, True, "1", float("inf"), float("nan")], ids=repr)
def test_a_bad_threshold_is_rejected_at_construction(bad: object) -> None:
    with pytest.raises(ValueError, match="loop_lag_threshold"):
        Scheduler(loop_lag_threshold=bad)  # type: ignore[arg-type]
