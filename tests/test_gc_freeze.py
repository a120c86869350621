"""Large registrations are frozen out of the cyclic garbage collector (issue 11).

At 1e5 jobs, full collections walking every registered job landed on the firing path
(150-250 ms each, several per second); ``gc.freeze()`` is called once ``FREEZE_AFTER``
jobs were added, then every ``FREEZE_AFTER`` more, and after a burst of at least
``SETTLE_MIN`` more (collected first), on the next loop turn; for jobs (not timers) also after
a first burst of ``SETTLE_MIN``.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from aioscheduler import Every, Scheduler
from aioscheduler._gcfreeze import FREEZE_AFTER, SETTLE_MIN, Freezer
from aioscheduler.testing import FakeClock

from .conftest import START


def noop() -> None:
    pass


def _count_collections(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """``gc.collect()`` calls, by generation, instead of collecting."""
    collected: list[int] = []

    def collect(generation: int = 2) -> int:
        collected.append(generation)
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    return collected


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


async def test_a_registration_of_settle_min_jobs_is_frozen(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,000 jobs (far from FREEZE_AFTER) in one burst: a full pass over the process, landing
    among their firings, delayed the last of 1,000 due together by 20-30 ms; so they are
    frozen on the loop turn after the burst (without the full collection a larger burst gets:
    5-7 ms there)."""
    collected = _count_collections(monkeypatch)
    scheduler = Scheduler(clock=FakeClock(START))
    async with scheduler:
        for i in range(SETTLE_MIN):
            await scheduler.add(noop, Every(60), id=f"j{i}", executor="inline")
        assert gc.get_freeze_count() == 0  # not during the burst
        await asyncio.sleep(0)
        frozen = gc.get_freeze_count()
        assert frozen > SETTLE_MIN
        assert not collected  # below FREEZE_AFTER: frozen without a full collection first
        await scheduler.add(noop, Every(60), id="one-more", executor="inline")
        await asyncio.sleep(0)
        assert gc.get_freeze_count() <= frozen  # a job after the freeze: nothing more


def test_timers_settle_no_burst_below_freeze_after(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dispatcher's freezer (timers, often per-connection work) keeps the old rule: a
    burst is settled only past FREEZE_AFTER timers in all."""
    collected = _count_collections(monkeypatch)
    timers, jobs = Freezer(), Freezer(small_bursts=True)

    async def burst() -> None:
        for _ in range(SETTLE_MIN):
            timers.added()
        await asyncio.sleep(0)
        assert not collected and gc.get_freeze_count() == 0
        for _ in range(SETTLE_MIN):
            jobs.added()
        await asyncio.sleep(0)
        assert not collected and gc.get_freeze_count() > 0

    asyncio.run(burst())


async def test_a_burst_after_a_freeze_is_collected_and_frozen_on_the_next_loop_turn(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    collected = _count_collections(monkeypatch)
    clock = FakeClock(START)
    scheduler = Scheduler(clock=clock)
    async with scheduler:
        for i in range(FREEZE_AFTER):
            await scheduler.add(noop, Every(60), id=f"j{i}", executor="inline")
        frozen = gc.get_freeze_count()
        assert frozen > 0 and not collected  # the freeze at FREEZE_AFTER does not collect
        for i in range(SETTLE_MIN):  # one burst: no loop turn in between
            await scheduler.add(noop, Every(60), id=f"k{i}", executor="inline")
        # not in the burst (the count may drop: a frozen object freed by its last reference
        # leaves the permanent generation; a freeze of the burst's jobs adds thousands)
        assert gc.get_freeze_count() <= frozen and not collected
        await asyncio.sleep(0)
        assert collected == [2]  # once, then frozen
        assert gc.get_freeze_count() > frozen + SETTLE_MIN
        await asyncio.sleep(0)
        assert collected == [2]


async def test_a_small_burst_after_a_freeze_is_left_to_the_collector(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    collected = _count_collections(monkeypatch)
    scheduler = Scheduler(clock=FakeClock(START))
    async with scheduler:
        for i in range(FREEZE_AFTER + SETTLE_MIN - 2):
            await scheduler.add(noop, Every(60), id=f"j{i}", executor="inline")
        await asyncio.sleep(0)
        assert not collected


def test_a_settle_lost_with_its_loop_is_scheduled_on_the_next_loop(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    collected = _count_collections(monkeypatch)
    freezer = Freezer()

    async def burst(n: int, stop: bool) -> None:
        for _ in range(n):
            freezer.added()
        if stop:  # the loop ends with this turn: the settle() it scheduled never runs
            asyncio.get_running_loop().stop()

    first = asyncio.new_event_loop()
    task = first.create_task(burst(FREEZE_AFTER + SETTLE_MIN, stop=True))
    first.run_forever()
    first.close()
    assert task.done() and not collected

    async def one_more() -> None:
        await burst(1, stop=False)
        await asyncio.sleep(0)

    asyncio.run(one_more())
    assert collected == [2]
