"""FakeClock refuses to advance a scheduler that was never started, and is as deterministic
on the SQLite store (worker thread) as on the memory store (issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aioscheduler import Every, Scheduler
from aioscheduler.errors import SchedulerStateError
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing import FakeClock

from . import fc_support
from .conftest import START

#: Before the fix an ``Every(seconds=5)`` job saw 2 runs after ``advance(10)`` in about 40% of
#: tries on SQLite (none in 25%): many tries make a regression show.
TRIES = 40


async def test_advance_on_a_never_started_scheduler_raises(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    await scheduler.add(fc_support.tick, Every(seconds=5), id="t")
    with pytest.raises(SchedulerStateError, match=r"never started.*run_pending"):
        await clock.advance(10)
    assert clock.now() == START  # time did not move either


async def test_advance_after_stop_is_allowed(scheduler: Scheduler, clock: FakeClock) -> None:
    async with scheduler:
        pass
    await clock.advance(10)
    assert clock.time() == START.timestamp() + 10


async def test_advance_without_any_scheduler_just_moves_time() -> None:
    clock = FakeClock(START)
    await clock.advance(3)
    assert clock.time() == START.timestamp() + 3


@pytest.mark.parametrize("func", [fc_support.tick, fc_support.tick_sync], ids=["async", "sync"])
async def test_advance_on_sqlite_runs_and_records_every_firing_every_time(
    tmp_path: Path, func: object
) -> None:
    outcomes = []
    for i in range(TRIES):
        fc_support.CALLS.clear()
        clock = FakeClock(START)
        scheduler = Scheduler(store=SQLiteStore(tmp_path / f"jobs{i}.db"), clock=clock)
        await scheduler.add(func, Every(seconds=5), id="t")  # type: ignore[arg-type]
        async with scheduler:
            await clock.advance(10)
            job = await scheduler.get("t")
            outcomes.append((len(fc_support.CALLS), len(job.history)))
    assert outcomes == [(2, 2)] * TRIES
