"""Small guarantees of issue 10 item 10: misfire_grace=0, long retry chains, history memory."""

from __future__ import annotations

import gc
import traceback
import weakref
from datetime import timedelta

import pytest

from aioscheduler import After, Backoff, Every, Outcome, Scheduler
from aioscheduler.errors import InvalidJob
from aioscheduler.testing import FakeClock


@pytest.mark.parametrize("grace", [0, 0.0, timedelta(0)], ids=["int", "float", "timedelta"])
async def test_misfire_grace_zero_is_rejected_at_add_with_the_value(
    scheduler: Scheduler, grace: object
) -> None:
    with pytest.raises(InvalidJob, match=r"misfire_grace must be > 0 .*None for no limit"):
        await scheduler.add(lambda: None, Every(seconds=1), misfire_grace=grace)  # type: ignore[arg-type]
    assert await scheduler.jobs() == []


def test_misfire_grace_zero_is_rejected_by_a_decorator_at_declaration() -> None:
    s = Scheduler()
    with pytest.raises(InvalidJob, match="misfire_grace"):
        s.every(seconds=1, misfire_grace=0)(lambda: None)


@pytest.mark.parametrize("attempt", [1_024, 1_025, 1_100, 10**9], ids=str)
def test_the_default_backoff_stays_at_its_cap_for_any_attempt(attempt: int) -> None:
    assert Backoff(jitter=False).delay(attempt) == 300.0
    assert 150.0 <= Backoff().delay(attempt) <= 300.0


def test_an_integer_backoff_never_computes_a_huge_power() -> None:
    assert Backoff(initial=1, factor=3, max=10, jitter=False).delay(10**12) == 10.0
    assert Backoff(initial=2, factor=2, max=9, jitter=False).delay(3) == 8.0
    assert Backoff(initial=0, factor=2, max=9, jitter=False).delay(50) == 0.0
    assert Backoff(initial=5, factor=1, max=9, jitter=False).delay(50) == 5.0
    assert Backoff(initial=20, factor=2, max=9, jitter=False).delay(1) == 9.0


async def test_more_than_1024_retries_with_the_default_backoff_all_run_and_are_recorded(
    clock: FakeClock,
) -> None:
    s = Scheduler(clock=clock, history_limit=3)
    attempts: list[int] = []

    def fail() -> None:
        from aioscheduler import current_run

        run = current_run()
        assert run is not None
        attempts.append(run.attempt)
        raise RuntimeError("still down")

    await s.add(fail, After(1), id="f", retries=1_100, executor="inline")
    async with s:
        await clock.advance(1_101 * 300 + 10)
        job = await s.get("f") if await s.jobs() else None
    assert attempts == list(range(1, 1_102))
    assert job is None  # the one-shot ended after its last attempt, recorded (not stuck)


async def test_a_failed_run_in_memory_history_keeps_its_traceback_but_not_its_locals(
    running: Scheduler, clock: FakeClock
) -> None:
    class Big:
        pass

    refs: list[weakref.ref[Big]] = []

    def fail() -> None:
        big = Big()  # a large local in the real case: a buffer, a DataFrame
        refs.append(weakref.ref(big))
        raise ValueError("boom")

    await running.add(fail, Every(seconds=1), id="f", executor="inline")
    await clock.advance(1)
    job = await running.get("f")
    assert job.last_run is not None and job.last_run.outcome is Outcome.ERROR
    error = job.last_run.error
    assert isinstance(error, ValueError)
    gc.collect()
    assert refs[0]() is None, "the failing frame's local is still alive"
    text = "".join(traceback.format_exception(error))
    assert "in fail" in text and 'raise ValueError("boom")' in text and "ValueError: boom" in text
