"""The dispatcher's back-pressure on backlog chains (issue 11): while many claimed firings wait
in ``coalesce=False`` chains and the chains move, it claims nothing more; a chain that does not
move (its job's run hangs) never holds the other jobs' claims back."""

from __future__ import annotations

import asyncio

import pytest

from aioscheduler import Every, Run, Scheduler, current_run
from aioscheduler.testing import FakeClock

from . import test_backlog
from .conftest import START


def rel(run: Run) -> float:
    return run.scheduled_at.timestamp() - START.timestamp()


class Recorder:
    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.started: list[float] = []
        self.gate = gate

    async def __call__(self) -> None:
        run = current_run()
        assert run is not None
        self.started.append(rel(run))
        if self.gate is not None:
            await self.gate.wait()


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    from aioscheduler import _dispatcher

    monkeypatch.setattr(_dispatcher, "MAX_CHAINED", 2)


@pytest.mark.usefixtures("small_cap")
async def test_a_chain_stuck_behind_a_hanging_run_does_not_hold_other_jobs_back(
    running: Scheduler, clock: FakeClock
) -> None:
    gate = asyncio.Event()
    stuck = Recorder(gate)
    other = Recorder()
    await running.add(stuck, Every(seconds=10), id="stuck", coalesce=False)
    await clock.advance(10)  # the run of 10 starts and hangs
    clock.jump(60)  # 20 ... 70 become due: six firings wait in the chain, over the cap
    await clock.advance(0)
    assert stuck.started == [10]
    await running.add(other, Every(seconds=5), id="other")
    for _ in range(4):
        await clock.advance(5)
    assert other.started == [75, 80, 85, 90]
    gate.set()
    await clock.advance(0)
    assert stuck.started[:7] == [10, 20, 30, 40, 50, 60, 70]


@pytest.mark.usefixtures("small_cap")
async def test_moving_chains_over_the_cap_lose_no_firing_and_keep_their_order(
    running: Scheduler, clock: FakeClock
) -> None:
    probes = [test_backlog.Probe() for _ in range(5)]
    for i, probe in enumerate(probes):
        await running.add(probe, Every(seconds=10), id=f"j{i}", coalesce=False)
    other = Recorder()
    await running.add(other, Every(seconds=60), id="other")
    clock.jump(60)  # 6 firings due for each of the 5 chained jobs: 30 over a cap of 2
    await clock.advance(0)
    for probe in probes:
        assert probe.started == [10, 20, 30, 40, 50, 60]
        assert probe.most_at_once == 1
    assert other.started == [60]
