"""The loop-lag watchdog names a timer callback that blocks the loop (real time, like
tests/test_watchdog.py: the loop is blocked for real, well over the threshold)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from aioscheduler import Scheduler
from aioscheduler.events import LoopStalled
from aioscheduler.testing import FakeClock


async def test_a_timer_that_blocks_the_loop_is_named_without_a_job_id(clock: FakeClock) -> None:
    s = Scheduler(clock=clock, loop_lag_threshold=0.2)
    stalls: list[LoopStalled] = []
    s.subscribe(stalls.append, LoopStalled)

    async def blocking_timer() -> None:
        time.sleep(1.0)  # noqa: ASYNC251 - the bug: a blocking call inside a coroutine

    async with s:
        s.call_later(1, blocking_timer)
        await clock.advance(1)
        deadline = time.monotonic() + 10
        while not any("blocking_timer" in e.culprit for e in stalls):
            assert time.monotonic() < deadline, stalls
            await asyncio.sleep(0.01)
    # (a loaded machine may add stalls of its own: look for the one the timer caused)
    stall = next(e for e in stalls if "blocking_timer" in e.culprit)
    assert stall.culprit.startswith("timer <Timer ")
    assert stall.job_id is None
    assert stall.duration >= timedelta(seconds=0.7)
