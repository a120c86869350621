"""The dispatcher and a failing store: it backs off, doubling from 0.25 s up to 5 s, and goes on.

Driven by FakeClock through the public API only: a store whose `acquire_due` raises while its
"server" is down records the (fake) time of every attempt.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from aioscheduler import At, Scheduler
from aioscheduler.errors import StoreError
from aioscheduler.events import StoreRecovered, StoreUnavailable
from aioscheduler.stores import Claim, MemoryStore
from aioscheduler.testing import FakeClock

from .conftest import START

T0 = START.timestamp()


class Failing(MemoryStore):
    """A memory store whose claims fail with `error` while `down`; records each attempt's time."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.down = True
        self.error = error
        self.attempts: list[float] = []

    async def acquire_due(self, now: float, limit: int) -> list[Claim]:
        self.attempts.append(now - T0)
        if self.down:
            raise self.error
        return await super().acquire_due(now, limit)


ran: list[float] = []


async def job() -> None:
    ran.append(1.0)


@pytest.fixture
def events() -> list[Any]:
    return []


async def started(store: Failing, clock: FakeClock, events: list[Any]) -> Scheduler:
    ran.clear()
    s = Scheduler(store=store, clock=clock)
    s.subscribe(events.append)
    await s.start()
    await s.add(job, At(START + timedelta(seconds=1)), id="due-at-1s")
    return s


@pytest.fixture
async def store_error(clock: FakeClock, events: list[Any]) -> AsyncIterator[Failing]:
    store = Failing(StoreError("server down"))
    s = await started(store, clock, events)
    yield store
    await s.stop()
    assert not s.running


async def test_claim_retries_back_off_doubling_from_a_quarter_second_up_to_five(
    store_error: Failing, clock: FakeClock
) -> None:
    await clock.advance(20)
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(store_error.attempts)]
    assert store_error.attempts[0] == 1.0
    assert gaps == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert ran == []


async def test_an_outage_is_one_event_and_the_job_runs_once_the_store_is_back(
    store_error: Failing, clock: FakeClock, events: list[Any]
) -> None:
    await clock.advance(5)  # attempts at 1, 1.25, 1.75, 2.75, 4.75
    store_error.down = False
    await clock.advance(4)  # the next attempt is at 4.75 + 4
    assert store_error.attempts == [1.0, 1.25, 1.75, 2.75, 4.75, 8.75]
    assert ran == [1.0]
    assert [type(e) for e in events if isinstance(e, StoreUnavailable | StoreRecovered)] == [
        StoreUnavailable,
        StoreRecovered,
    ]
    recovered = next(e for e in events if isinstance(e, StoreRecovered))
    assert recovered.downtime == timedelta(seconds=7.75)


async def test_the_backoff_starts_again_from_a_quarter_second_after_a_recovery(
    clock: FakeClock, events: list[Any]
) -> None:
    store = Failing(StoreError("server down"))
    s = await started(store, clock, events)
    try:
        await clock.advance(2)  # attempts at 1, 1.25, 1.75
        store.down = False
        await clock.advance(1)  # 2.75: succeeds, runs the job
        store.down = True
        await s.add(job, At(START + timedelta(seconds=4)), id="due-at-4s")
        await clock.advance(2)
    finally:
        await s.stop()
    assert store.attempts == [1.0, 1.25, 1.75, 2.75, 4.0, 4.25, 4.75]
    assert ran == [1.0]
