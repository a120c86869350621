"""A queued firing of a removed job is reported as ``RunSkipped``, never as a finished run
(issue 9: the Prometheus counters disagreed with each other)."""

from __future__ import annotations

import asyncio

from aioscheduler import Backoff, Every, Outcome, Scheduler
from aioscheduler.events import RunFinished, RunSkipped
from aioscheduler.testing import FakeClock


async def test_removing_a_job_reports_its_queued_firing_as_skipped(
    running: Scheduler, clock: FakeClock
) -> None:
    gate = asyncio.Event()
    finished: list[RunFinished] = []
    skipped: list[RunSkipped] = []
    running.subscribe(finished.append, RunFinished)
    running.subscribe(skipped.append, RunSkipped)

    async def slow() -> None:
        await gate.wait()

    await running.add(slow, Every(seconds=1), id="q", overlap="queue")
    await clock.advance(2.5)  # the firing at 2 waits behind the one at 1
    await running.remove("q")
    gate.set()
    await clock.advance(0)
    assert [e.run.reason for e in skipped] == ["job removed"]
    assert skipped[0].run.outcome is Outcome.SKIPPED
    assert [e.run.outcome for e in finished] == [Outcome.SUCCESS]  # only the run that ran


async def test_removing_a_job_reports_its_pending_retry_and_wakes_wait_run(
    running: Scheduler, clock: FakeClock
) -> None:
    skipped: list[RunSkipped] = []
    running.subscribe(skipped.append, RunSkipped)

    async def fails() -> None:
        raise RuntimeError("down")

    await running.add(fails, Every(hours=1), id="r", retries=3, backoff=Backoff(initial=60))
    waiting = asyncio.ensure_future(running.wait_run("r"))
    await clock.advance(3600)  # failed; a retry waits 60 s
    assert not waiting.done()
    await running.remove("r")
    await clock.advance(0)
    run = await asyncio.wait_for(waiting, 5)  # before: waited until its timeout
    assert (run.outcome, run.reason, run.attempt) == (Outcome.SKIPPED, "job removed", 2)
    assert [e.run.reason for e in skipped] == ["job removed"]
