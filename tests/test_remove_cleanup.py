"""``remove()`` skips the engine's per-job cleanup when there is nothing to clean, with lookups in
dicts the registry keeps (``Dispatcher.local_firings()``, ``JobRuns.states()``,
``TickCounters.counted``): what there is must still be cleaned, also after a restart."""

from __future__ import annotations

import asyncio

from aioscheduler import Backoff, Every, Scheduler, Ticks
from aioscheduler.events import RunSkipped
from aioscheduler.testing import FakeClock


async def test_a_pending_retry_is_dropped_after_a_restart(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    await scheduler.start()
    await scheduler.stop()
    await scheduler.start()
    skipped: list[RunSkipped] = []
    scheduler.subscribe(skipped.append, RunSkipped)

    async def fails() -> None:
        raise RuntimeError("down")

    await scheduler.add(fails, Every(hours=1), id="r", retries=3, backoff=Backoff(initial=60))
    await clock.advance(3600)  # failed; a retry waits 60 s on the local heap
    await scheduler.remove("r")
    await clock.advance(120)
    assert [(e.run.reason, e.run.attempt) for e in skipped] == [("job removed", 2)]


async def test_failures_of_a_removed_job_are_forgotten(
    running: Scheduler, clock: FakeClock
) -> None:
    calls = 0

    async def fails() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("down")

    await running.add(fails, Every(seconds=10), id="f", pause_after_failures=2)
    await clock.advance(10)  # one failure counted, nothing running
    await asyncio.sleep(0)
    await running.remove("f")
    await running.add(fails, Every(seconds=10), id="f", pause_after_failures=2)
    await clock.advance(10)  # the new job's first failure: not paused
    assert calls == 2
    assert not (await running.get("f")).paused
    await clock.advance(10)
    assert (await running.get("f")).paused


async def test_a_removed_ticks_job_no_longer_counts(running: Scheduler, clock: FakeClock) -> None:
    ran: list[int] = []

    async def job() -> None:
        ran.append(1)

    await running.add(job, Ticks(2, repeat=True), id="t")
    running.tick(n=1)
    await running.remove("t")
    running.tick(n=5)
    await clock.advance(1)
    assert ran == []
