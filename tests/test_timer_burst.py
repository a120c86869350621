"""A burst of timers due at once (issue 11): handed to the runner LOCAL_BATCH per round, in
due order, and frozen out of the cyclic collector after a long burst of ``call_at``."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from aioscheduler import Scheduler
from aioscheduler._dispatcher import LOCAL_BATCH
from aioscheduler._gcfreeze import FREEZE_AFTER
from aioscheduler.testing import FakeClock


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


async def test_timers_due_at_once_all_run_in_order_a_batch_per_round(
    running: Scheduler, clock: FakeClock
) -> None:
    n = 2 * LOCAL_BATCH + 7
    seen: list[int] = []
    rounds: list[int] = []
    dispatcher = running._engine.dispatcher

    async def fire(i: int) -> None:
        seen.append(i)
        rounds.append(dispatcher.rounds)

    for i in range(n):
        running.call_later(1.0, fire, i)
    await clock.advance(2)
    assert seen == list(range(n))  # FIFO among equal due times, none lost
    assert len(set(rounds)) >= 3  # not all handed over in one round
    assert rounds.count(rounds[0]) <= LOCAL_BATCH


async def test_run_pending_still_fires_every_due_timer(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    seen: list[int] = []

    async def fire(i: int) -> None:
        seen.append(i)

    for i in range(LOCAL_BATCH + 3):
        scheduler.call_later(0, fire, i)
    await scheduler.run_pending()
    assert seen == list(range(LOCAL_BATCH + 3))


async def test_many_timers_are_frozen_out_of_the_collector(
    unfrozen: None, running: Scheduler
) -> None:
    async def fire() -> None:
        pass

    for _ in range(FREEZE_AFTER - 1):
        running.call_later(3600, fire)
    assert gc.get_freeze_count() == 0
    running.call_later(3600, fire)
    assert gc.get_freeze_count() > 0
