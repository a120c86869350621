"""Scheduler.backfill(): past firings run oldest first, flagged, without touching the schedule."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from aioscheduler import Cron, Every, Outcome, Run, Scheduler
from aioscheduler.errors import BackfillTooLarge, InvalidBackfill, JobNotFound, SchedulerStateError
from aioscheduler.events import RunFinished, RunStarted
from aioscheduler.testing import FakeClock

from .conftest import START


async def _drive(clock: FakeClock, task: asyncio.Task[Any]) -> Any:
    for _ in range(200):
        if task.done():
            break
        await clock.advance(0)
    return await task


async def test_backfill_runs_the_window_oldest_first_flagged(
    running: Scheduler, clock: FakeClock
) -> None:
    seen: list[tuple[str, bool]] = []

    async def job() -> None:
        from aioscheduler import current_run

        run = current_run()
        assert run is not None
        seen.append((run.scheduled_at.strftime("%d %H:%M"), run.backfill))

    await running.add(job, Cron("0 */6 * * *"), id="j")
    before = (await running.get("j")).next_run_at
    task = asyncio.create_task(
        running.backfill("j", START - timedelta(days=1), START - timedelta(hours=6))
    )
    runs: list[Run] = await _drive(clock, task)
    assert seen == [("01 12:00", True), ("01 18:00", True), ("02 00:00", True)]
    assert [r.scheduled_at for r in runs] == [
        START - timedelta(days=1),
        START - timedelta(hours=18),
        START - timedelta(hours=12),
    ]
    assert all(r.backfill and r.outcome is Outcome.SUCCESS for r in runs)
    assert (await running.get("j")).next_run_at == before  # its own schedule is untouched


async def test_backfill_runs_one_after_another(running: Scheduler, clock: FakeClock) -> None:
    active, peak = 0, 0

    async def slow() -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0)
        active -= 1

    await running.add(slow, Every(3600), id="s", overlap="allow")
    task = asyncio.create_task(running.backfill("s", START - timedelta(hours=5), START))
    runs = await _drive(clock, task)
    assert len(runs) == 5 and peak == 1


async def test_events_carry_the_backfill_flag(running: Scheduler, clock: FakeClock) -> None:
    events: list[Any] = []
    running.subscribe(events.append, RunStarted, RunFinished)
    await running.add(lambda: None, Every(60), id="e", executor="inline")
    task = asyncio.create_task(running.backfill("e", START - timedelta(minutes=2), START))
    await _drive(clock, task)
    await clock.advance(0)
    flagged = [e for e in events if e.run.job_id == "e"]
    assert len(flagged) == 4
    assert all(e.run.backfill for e in flagged)


async def test_too_many_firings_raise_before_anything_runs(
    running: Scheduler, clock: FakeClock
) -> None:
    calls: list[int] = []
    await running.add(lambda: calls.append(1), Cron("* * * * *"), id="m", executor="inline")
    with pytest.raises(BackfillTooLarge, match="more than limit=10 firings"):
        await running.backfill("m", START - timedelta(hours=1), START, limit=10)
    await clock.advance(0)
    assert calls == []
    assert isinstance(BackfillTooLarge("x"), ValueError)
    assert len(await running.backfill("m", START - timedelta(minutes=10), START, limit=10)) == 10


@pytest.mark.parametrize(
    ("start", "end", "limit", "message"),
    [
        (START, START - timedelta(1), 5, "must be before end"),
        (START.replace(tzinfo=None), START, 5, "start must be an aware datetime"),
        (START, "tomorrow", 5, "end must be an aware datetime"),
        (START - timedelta(1), START, 0, "limit must be an int >= 1, got 0"),
    ],
)
async def test_bad_windows_are_refused(
    running: Scheduler, start: Any, end: Any, limit: Any, message: str
) -> None:
    await running.add(lambda: None, Every(60), id="b")
    with pytest.raises(InvalidBackfill, match=message):
        await running.backfill("b", start, end, limit=limit)


async def test_unknown_job_and_stopped_scheduler(scheduler: Scheduler) -> None:
    with pytest.raises(JobNotFound):
        await scheduler.backfill("nope", START - timedelta(1), START)
    await scheduler.add(lambda: None, Every(60), id="x")
    with pytest.raises(SchedulerStateError, match="running scheduler"):
        await scheduler.backfill("x", START - timedelta(minutes=5), START)


async def test_backfill_runs_are_recorded_in_history(running: Scheduler, clock: FakeClock) -> None:
    await running.add(lambda: None, Every(60), id="h", executor="inline")
    task = asyncio.create_task(running.backfill("h", START - timedelta(minutes=3), START))
    await _drive(clock, task)
    await clock.advance(0)
    history = (await running.get("h")).history
    assert [r.backfill for r in history][-3:] == [True, True, True]


async def test_run_now_runs_are_recorded_in_history_too(
    running: Scheduler, clock: FakeClock
) -> None:
    # A local firing carries an equal copy of the job's spec; the memory store records it.
    await running.add(lambda: None, Every(60), id="r", executor="inline")
    await running.run_now("r")
    await clock.advance(0)
    await clock.advance(0)
    history = (await running.get("r")).history
    assert len(history) == 1 and not history[0].backfill


def test_the_backfill_flag_survives_the_stored_history_record() -> None:
    from aioscheduler.stores._codec import decode_run, encode_run

    run = Run(job_id="j", scheduled_at=START, started_at=START, finished_at=START,
              outcome=Outcome.SUCCESS, backfill=True)  # fmt: skip
    assert decode_run("j", encode_run(run, 1)).backfill is True
    assert decode_run("j", encode_run(run._replace(backfill=False), 1)).backfill is False


async def test_removing_the_job_ends_its_backfill(running: Scheduler, clock: FakeClock) -> None:
    calls: list[int] = []
    await running.add(lambda: calls.append(1), Every(60), id="gone", executor="inline")
    task = asyncio.create_task(running.backfill("gone", START - timedelta(minutes=5), START))
    for _ in range(5):  # let it compute and queue its first firing, not run it
        if running.statistics().local_entries:
            break
        await asyncio.sleep(0)
    assert running.statistics().local_entries
    await running.remove("gone")
    with pytest.raises(JobNotFound):
        await task
    assert len(calls) <= 1
