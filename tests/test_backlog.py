"""coalesce=False: a backlog of missed firings runs one at a time, in order, whatever the
overlap policy (issue 10 item 6)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from aioscheduler import Every, Outcome, Run, Scheduler, current_run
from aioscheduler.events import RunFinished, RunMissed, RunSkipped
from aioscheduler.testing import FakeClock

from .conftest import START


def rel(run: Run) -> float:
    return run.scheduled_at.timestamp() - START.timestamp()


class Probe:
    """A job that records its runs and how many of them overlapped."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.started: list[float] = []
        self.now_running = 0
        self.most_at_once = 0
        self.gate = gate

    async def __call__(self) -> None:
        run = current_run()
        assert run is not None
        self.started.append(rel(run))
        self.now_running += 1
        self.most_at_once = max(self.most_at_once, self.now_running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            for _ in range(5):  # a run that spans several loop iterations
                await asyncio.sleep(0)
        finally:
            self.now_running -= 1


@pytest.mark.parametrize("overlap", ["skip", "allow", "queue", "replace"])
async def test_a_backlog_runs_one_firing_at_a_time_in_order(
    running: Scheduler, clock: FakeClock, overlap: str
) -> None:
    outcomes: list[Run] = []
    running.subscribe(lambda e: outcomes.append(e.run), RunFinished, RunSkipped, RunMissed)
    probe = Probe()
    await running.add(probe, Every(seconds=10), id="j", coalesce=False, overlap=overlap)  # type: ignore[arg-type]
    clock.jump(60)  # firings at 10, 20, ..., 60 are all due at once
    await clock.advance(0)
    assert probe.started == [10, 20, 30, 40, 50, 60]
    assert probe.most_at_once == 1
    assert [r.outcome for r in outcomes] == [Outcome.SUCCESS] * 6
    assert [rel(r) for r in outcomes] == [10, 20, 30, 40, 50, 60]


async def test_the_backlog_waits_for_a_run_still_running_then_follows_in_order(
    running: Scheduler, clock: FakeClock
) -> None:
    gate = asyncio.Event()
    probe = Probe(gate)
    skipped: list[RunSkipped] = []
    running.subscribe(skipped.append, RunSkipped)
    await running.add(probe, Every(seconds=10), id="j", coalesce=False)
    await clock.advance(10)  # the run of 10 starts and blocks
    clock.jump(30)  # 20, 30, 40 become due while it runs
    await clock.advance(0)
    assert probe.started == [10]
    gate.set()
    await clock.advance(0)
    assert probe.started == [10, 20, 30, 40]
    assert probe.most_at_once == 1
    assert skipped == []
    await clock.advance(10)  # back on time: the chain has ended, the next firing is normal
    assert probe.started == [10, 20, 30, 40, 50]


async def test_a_backlog_firing_whose_turn_comes_after_its_grace_is_reported_missed(
    running: Scheduler, clock: FakeClock
) -> None:
    gate = asyncio.Event()
    probe = Probe(gate)
    missed: list[RunMissed] = []
    running.subscribe(missed.append, RunMissed)
    await running.add(probe, Every(seconds=10), id="j", coalesce=False, misfire_grace=60)
    clock.jump(60)
    await clock.advance(0)  # 10 runs (50 s late) and blocks; 20..60 wait in the backlog
    clock.jump(25)  # now 85: 20 is 65 s late by its turn, 30 only 55 s
    gate.set()
    await clock.advance(0)
    assert [rel(e.run) for e in missed] == [20]
    assert missed[0].run.outcome is Outcome.MISSED
    assert probe.started == [10, 30, 40, 50, 60, 70, 80]
    assert probe.most_at_once == 1


async def test_backlog_firings_still_waiting_at_stop_are_reported_cancelled(
    clock: FakeClock,
) -> None:
    s = Scheduler(clock=clock)
    gate = asyncio.Event()
    probe = Probe(gate)
    finished: list[Run] = []
    s.subscribe(lambda e: finished.append(e.run), RunFinished)
    await s.add(probe, Every(seconds=10), id="j", coalesce=False)
    await s.start()
    clock.jump(30)
    await clock.advance(0)
    await s.stop(timeout=0)
    assert probe.started == [10]
    by_time = {rel(r): (r.outcome, r.reason) for r in finished}
    assert by_time[20] == (Outcome.CANCELLED, "scheduler stopped")
    assert by_time[30] == (Outcome.CANCELLED, "scheduler stopped")
    job = await s.get("j")
    assert job.last_run is not None


async def test_on_time_firings_without_coalescing_still_meet_the_overlap_policy(
    running: Scheduler, clock: FakeClock
) -> None:
    gate = asyncio.Event()
    probe = Probe(gate)
    skipped: list[RunSkipped] = []
    running.subscribe(skipped.append, RunSkipped)
    await running.add(probe, Every(seconds=1), id="j", coalesce=False)
    await clock.advance(3)  # on time each second: no backlog, "skip" applies
    assert probe.started == [1]
    assert len(skipped) == 2
    gate.set()


#: (scheduled_at offset, runs of the job running at that moment) of every call of ``counted``.
seen_runs: list[tuple[float, int]] = []
_RUNNING = [0]


async def counted() -> None:
    run = current_run()
    assert run is not None
    _RUNNING[0] += 1
    seen_runs.append((rel(run), _RUNNING[0]))
    try:
        for _ in range(5):
            await asyncio.sleep(0)
    finally:
        _RUNNING[0] -= 1


@pytest.mark.parametrize("overlap", ["skip", "allow"])
async def test_a_backlog_left_by_downtime_in_sqlite_runs_one_at_a_time(
    tmp_path: Path, clock: FakeClock, overlap: str
) -> None:
    from aioscheduler.stores.sqlite import SQLiteStore

    seen_runs.clear()
    first = Scheduler(store=SQLiteStore(tmp_path / "jobs.db"), clock=clock, allow=["tests"])
    await first.add(counted, Every(minutes=10), id="j", coalesce=False, overlap=overlap)  # type: ignore[arg-type]
    await first.stop()
    clock.jump(timedelta(hours=1, seconds=5))  # down for an hour: six firings due

    second = Scheduler(store=SQLiteStore(tmp_path / "jobs.db"), clock=clock, allow=["tests"])
    await second.run_pending()
    history = (await second.get("j")).history
    await second.stop()
    assert seen_runs == [(600.0 * i, 1) for i in range(1, 7)]
    assert [r.outcome for r in history][-6:] == [Outcome.SUCCESS] * 6
