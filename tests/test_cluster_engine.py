"""The engine side of shared stores, on a stub store: renewal, self-fencing, outages.

The stub behaves like a shared store with a short lease whose server can be switched off; the
real stores are tested in tests/distributed/ and tests/stores/test_postgres*.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aioscheduler import At, Every, Scheduler
from aioscheduler._values import Run
from aioscheduler.errors import StoreError
from aioscheduler.events import LeaseLost, RunFinished, StoreRecovered, StoreUnavailable
from aioscheduler.stores import Claim, MemoryStore
from aioscheduler.stores.memory import FinishedFiring


class FlakyShared(MemoryStore):
    """A memory store dressed as a shared store with a 0.4 s lease and a switchable server."""

    shared = True

    def __init__(self) -> None:
        super().__init__()
        self.up = True
        self.renewals: list[int] = []
        self.taken: set[tuple[str, float]] = set()

    @property
    def lease(self) -> float:
        return 0.4

    def poll_interval(self) -> float:
        return 0.1

    async def acquire_due(self, now: float, limit: int) -> list[Claim]:
        if not self.up:
            raise StoreError("server down")
        return [c._replace(owner="me") for c in await super().acquire_due(now, limit)]

    async def extend_leases(self, claims: Sequence[Claim]) -> list[Claim]:
        if not self.up:
            raise StoreError("server down")
        self.renewals.append(len(claims))
        return [c for c in claims if (c.spec.id, c.scheduled_at) in self.taken]

    async def release(self, runs: Sequence[tuple[Claim, Run | FinishedFiring]]) -> None:
        if not self.up:
            raise StoreError("server down")
        await super().release(runs)


async def sleeper() -> None:
    await asyncio.sleep(3)


async def run_with(store: FlakyShared, events: list[Any]) -> Scheduler:
    from datetime import UTC, datetime

    s = Scheduler(store=store, node_name="unit")
    s.subscribe(events.append)
    await s.start()
    await s.add(sleeper, At(datetime.now(UTC)), id="long")
    return s


async def test_leases_are_renewed_every_third_of_the_lease_while_the_run_lasts() -> None:
    store = FlakyShared()
    events: list[Any] = []
    s = await run_with(store, events)
    try:
        await asyncio.sleep(1.0)
        assert 4 <= len(store.renewals) <= 9, store.renewals  # every 0.4 / 3 s
        assert not [e for e in events if isinstance(e, LeaseLost)]
    finally:
        await s.stop(timeout=0)


async def test_a_node_that_cannot_renew_cancels_its_run_before_the_lease_ends() -> None:
    store = FlakyShared()
    events: list[Any] = []
    s = await run_with(store, events)
    try:
        await asyncio.sleep(0.2)
        store.up = False
        loop = asyncio.get_running_loop()
        cut = loop.time()
        for _ in range(40):
            if any(isinstance(e, LeaseLost) for e in events):
                break
            await asyncio.sleep(0.025)
        fenced_after = loop.time() - cut
        lost = [e for e in events if isinstance(e, LeaseLost)]
        assert lost and "self-fenced" in lost[0].reason
        assert fenced_after < store.lease, "fenced before the lease could expire elsewhere"
        finished = [e for e in events if isinstance(e, RunFinished) and e.run.job_id == "long"]
        assert finished and str(finished[0].run.outcome) == "cancelled"
        await asyncio.sleep(0.3)
        assert sum(isinstance(e, StoreUnavailable) for e in events) == 1, "one event per outage"
        store.up = True
        for _ in range(160):  # the claim backoff is at most 5 s
            if any(isinstance(e, StoreRecovered) for e in events):
                break
            await asyncio.sleep(0.05)
        assert sum(isinstance(e, StoreRecovered) for e in events) == 1
        assert s.running
    finally:
        await s.stop(timeout=0)


async def test_a_lease_taken_over_by_another_node_cancels_the_run_here() -> None:
    store = FlakyShared()
    events: list[Any] = []
    s = await run_with(store, events)
    try:
        await asyncio.sleep(0.2)
        store.taken = {
            ("long", c)
            for c in [
                e.run.scheduled_at.timestamp()
                for e in events
                if hasattr(e, "run") and e.run.job_id == "long"
            ]
        }
        for _ in range(40):
            if any(isinstance(e, LeaseLost) for e in events):
                break
            await asyncio.sleep(0.025)
        [lost] = [e for e in events if isinstance(e, LeaseLost)]
        assert lost.reason == "lease taken over by another node"
        assert s.statistics().leases_lost == 1
    finally:
        await s.stop(timeout=0)


class FailingWrites(MemoryStore):
    """Claims work; the first ``failures`` writes of finished runs fail (as on a Redis found
    wiped by a history write, or a disk that is briefly full)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def release(self, runs: Sequence[tuple[Claim, Run | FinishedFiring]]) -> None:
        if self.failures:
            self.failures -= 1
            raise StoreError("the store went away while writing runs")
        await super().release(runs)


async def test_an_outage_noticed_by_a_history_write_is_reported_as_an_outage() -> None:
    """docs/cluster.md: every process reports an outage (a wiped Redis included) with
    StoreUnavailable then StoreRecovered, whichever store call notices it first; a node whose
    claims kept working noticed it only in its history write, and reported nothing."""
    from aioscheduler.testing import FakeClock

    clock = FakeClock()
    store = FailingWrites(failures=2)
    s = Scheduler(store=store, clock=clock)
    events: list[object] = []
    s.subscribe(events.append, StoreUnavailable, StoreRecovered)

    async def job() -> None:
        pass

    await s.add(job, Every(hours=1, start_at=clock.now()), id="hourly")
    async with s:
        await clock.advance(0.1)  # runs; its write fails
        assert [type(e) for e in events] == [StoreUnavailable]
        assert "went away" in events[0].error  # type: ignore[attr-defined]
        await clock.advance(0.5)  # the retry fails too: still one outage
        assert [type(e) for e in events] == [StoreUnavailable]
        await clock.advance(1.0)  # the next one works
        assert [type(e) for e in events] == [StoreUnavailable, StoreRecovered]
        job_ = await s.get("hourly")
        assert job_.last_run is not None  # recorded once the store was back
        assert len(job_.history) == 1
