"""Large registrations are frozen out of the cyclic garbage collector (issue 11).

At 1e5 jobs, full collections walking every registered job landed on the firing path
(150-250 ms each, several per second); ``gc.freeze()`` is called once ``FREEZE_AFTER``
jobs were added, then at every doubling.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from aioscheduler import Every, Scheduler
from aioscheduler._dispatcher import FREEZE_AFTER
from aioscheduler.testing import FakeClock

from .conftest import START


def noop() -> None:
    pass


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # frozen objects go back to the oldest generation


async def test_many_added_jobs_are_frozen_out_of_the_collector(unfrozen: None) -> None:
    clock = FakeClock(START)
    scheduler = Scheduler(clock=clock)
    async with scheduler:
        for i in range(FREEZE_AFTER - 1):
            await scheduler.add(noop, Every(60), id=f"j{i}", executor="inline")
        assert gc.get_freeze_count() == 0
        await scheduler.add(noop, Every(60), id="last", executor="inline")
        assert gc.get_freeze_count() > 0
        assert len(await scheduler.jobs()) == FREEZE_AFTER


async def test_a_few_added_jobs_freeze_nothing(unfrozen: None) -> None:
    clock = FakeClock(START)
    scheduler = Scheduler(clock=clock)
    async with scheduler:
        for i in range(100):
            await scheduler.add(noop, Every(60), id=f"j{i}", executor="inline")
        await clock.advance(61)
        assert gc.get_freeze_count() == 0
