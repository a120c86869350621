"""``run_now()`` runs are recorded in ``last_run``/history on every store (issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aioscheduler import Every, Outcome, Scheduler
from aioscheduler.stores import MemoryStore, Store
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing import FakeClock

from .conftest import START


def work() -> str:
    return "done"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "jobs.db")


async def test_run_now_is_recorded_in_last_run_and_history(store: Store) -> None:
    scheduler = Scheduler(store=store, clock=FakeClock(START))
    await scheduler.add(work, Every(hours=1), id="hourly")
    async with scheduler:
        await scheduler.run_now("hourly")
        await scheduler.clock.advance(0)  # type: ignore[attr-defined]
        job = await scheduler.get("hourly")
    assert job.last_run is not None
    assert (job.last_run.outcome, job.last_run.result) == (Outcome.SUCCESS, "done")
    assert [r.scheduled_at for r in job.history] == [START]


async def test_run_now_without_start_is_recorded_by_run_pending(store: Store) -> None:
    scheduler = Scheduler(store=store, clock=FakeClock(START))
    await scheduler.add(work, Every(hours=1), id="hourly")
    await scheduler.run_now("hourly")
    assert await scheduler.run_pending() == 1
    job = await scheduler.get("hourly")
    await scheduler.stop()
    assert job.last_run is not None and job.last_run.outcome is Outcome.SUCCESS


async def test_a_run_now_that_ends_after_a_modify_is_still_recorded(store: Store) -> None:
    import asyncio

    from . import fc_support

    fc_support.GATE[:] = [asyncio.Event()]
    clock = FakeClock(START)
    scheduler = Scheduler(store=store, clock=clock)
    await scheduler.add(fc_support.gated, Every(hours=1), id="gated")
    async with scheduler:
        await scheduler.run_now("gated")
        await clock.advance(0)  # running, waiting at the gate
        await scheduler.modify("gated", retries=2)
        fc_support.GATE[0].set()  # type: ignore[attr-defined]
        await clock.advance(0)
        job = await scheduler.get("gated")
    assert [r.result for r in job.history] == ["through"]
