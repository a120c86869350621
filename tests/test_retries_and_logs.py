"""Retries end in one final run that ``wait_run()`` returns; the log says each thing once, at
the level it deserves (issue 9)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from aioscheduler import Backoff, Every, Outcome, Scheduler
from aioscheduler.testing import FakeClock

BACKOFF = Backoff(initial=10, factor=1, jitter=False)


def flaky_until(succeed_at: int) -> tuple[list[int], object]:
    attempts: list[int] = []

    async def flaky() -> str:
        attempts.append(len(attempts) + 1)
        if len(attempts) < succeed_at:
            raise ConnectionError(f"down (attempt {len(attempts)})")
        return "up"

    return attempts, flaky


async def test_wait_run_returns_the_final_attempt_and_history_keeps_them_all(
    running: Scheduler, clock: FakeClock
) -> None:
    _, flaky = flaky_until(3)
    await running.add(flaky, Every(hours=1), id="f", retries=3, backoff=BACKOFF)  # type: ignore[arg-type]
    waiting = asyncio.ensure_future(running.wait_run("f"))
    await clock.advance(3600 + 20)  # the firing, then retries after 10 s and 10 s more
    run = await waiting
    assert (run.outcome, run.attempt, run.result) == (Outcome.SUCCESS, 3, "up")
    history = (await running.get("f")).history
    assert [(r.attempt, r.outcome) for r in history] == [
        (1, Outcome.ERROR),
        (2, Outcome.ERROR),
        (3, Outcome.SUCCESS),
    ]


async def test_wait_run_returns_the_final_failure_when_every_attempt_fails(
    running: Scheduler, clock: FakeClock
) -> None:
    _, flaky = flaky_until(99)
    await running.add(flaky, Every(hours=1), id="f", retries=2, backoff=BACKOFF)  # type: ignore[arg-type]
    waiting = asyncio.ensure_future(running.wait_run("f"))
    await clock.advance(3600 + 20)
    run = await waiting
    assert (run.outcome, run.attempt) == (Outcome.ERROR, 3)
    assert "attempt 3" in str(run.error)


async def test_each_failed_attempt_is_logged_once_and_only_the_final_one_as_error(
    running: Scheduler, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    _, flaky = flaky_until(99)
    await running.add(flaky, Every(hours=1), id="f", retries=2, backoff=BACKOFF)  # type: ignore[arg-type]
    with caplog.at_level(logging.DEBUG, logger="aioscheduler"):
        await clock.advance(3600 + 20)
    records = [r for r in caplog.records if getattr(r, "job_id", None) == "f"]
    failures = [r for r in records if r.levelno >= logging.WARNING]
    assert [(r.levelname, r.getMessage()) for r in failures[:2]] == [
        (
            "WARNING",
            "job 'f' attempt 1 of 3 failed (error: ConnectionError: down (attempt 1)); "
            "retrying in 10 s (attempt 2 of 3)",
        ),
        (
            "WARNING",
            "job 'f' attempt 2 of 3 failed (error: ConnectionError: down (attempt 2)); "
            "retrying in 10 s (attempt 3 of 3)",
        ),
    ]
    assert all(r.exc_info is None for r in failures[:2])
    assert len(failures) == 3
    final = failures[2]
    assert (
        final.levelname == "ERROR"
        and final.getMessage() == "job 'f' failed after 3 attempts (error)"
    )
    assert final.exc_info is not None and isinstance(final.exc_info[1], ConnectionError)


async def test_lifecycle_is_logged_at_info_and_firings_at_debug(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def work() -> None:
        pass

    scheduler = Scheduler(clock=clock)
    with caplog.at_level(logging.INFO, logger="aioscheduler"):
        await scheduler.add(work, Every(seconds=10), id="w")
        async with scheduler:
            await clock.advance(30)  # three firings that work: nothing at INFO
            await scheduler.pause("w")
            await scheduler.resume("w")
            await scheduler.remove("w")
    assert [r.getMessage() for r in caplog.records] == [
        "store opened: MemoryStore",
        f"job 'w' added: {Every(seconds=10).describe()}",
        "scheduler started",
        "job 'w' paused",
        "job 'w' resumed",
        "job 'w' removed",
        "scheduler stopped",
    ]
    assert {r.levelname for r in caplog.records} == {"INFO"}
