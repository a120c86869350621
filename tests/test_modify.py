"""What an APScheduler user looks for: modify(), reschedule(), run_at_start, and arguments
checked against the callable at add() (issue 9, section 4)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

import aioscheduler
from aioscheduler import Every, Outcome, Scheduler
from aioscheduler.errors import InvalidJob, JobNotFound
from aioscheduler.events import JobUpdated
from aioscheduler.stores import MemoryStore, Store
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing import FakeClock

from . import fc_support
from .conftest import START


@pytest.fixture(params=["memory", "sqlite"])
async def sched(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Scheduler]:
    store: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "jobs.db")
    s = Scheduler(store=store, clock=clock)
    yield s
    await s.stop()


async def test_modify_changes_arguments_and_options_and_keeps_the_rest(
    sched: Scheduler, clock: FakeClock
) -> None:
    await sched.add(fc_support.greet, Every(seconds=10), id="g", args=("ann",), paused=False)
    async with sched:
        await clock.advance(10)
        updated: list[JobUpdated] = []
        sched.subscribe(updated.append, JobUpdated)
        job = await sched.modify("g", args=("bob",), kwargs={"punctuation": "?"}, retries=2)
        assert (job.args, dict(job.kwargs), job.options.retries) == (
            ("bob",),
            {"punctuation": "?"},
            2,
        )
        assert job.trigger == Every(seconds=10)
        assert job.next_run_at == START + timedelta(seconds=20)  # kept
        assert [r.result for r in job.history] == ["hello ann!"]
        await clock.advance(10)
        job = await sched.get("g")
        assert [r.result for r in job.history] == ["hello ann!", "hello bob?"]
        assert job.options.overlap == "skip"  # untouched
        await clock.advance(0)
    assert [e.job_id for e in updated] == ["g"]


async def test_modify_refuses_bad_changes_and_changes_nothing(sched: Scheduler) -> None:
    await sched.add(fc_support.greet, Every(seconds=10), id="g", args=("ann",))
    with pytest.raises(InvalidJob, match="cannot change 'trigger'"):
        await sched.modify("g", trigger=Every(seconds=1))  # type: ignore[call-arg]
    with pytest.raises(InvalidJob, match="overlap"):
        await sched.modify("g", overlap="sometimes")  # type: ignore[arg-type]  # invalid on purpose
    with pytest.raises(InvalidJob, match=r"cannot be called with \('ann', 'extra', 'too many'\)"):
        await sched.modify("g", args=("ann", "extra", "too many"))
    with pytest.raises(JobNotFound):
        await sched.modify("nope", retries=1)
    job = await sched.get("g")
    assert (job.args, job.options.overlap) == (("ann",), "skip")


async def test_reschedule_starts_the_new_trigger_from_now(
    sched: Scheduler, clock: FakeClock
) -> None:
    await sched.add(fc_support.greet, Every(hours=1), id="g", args=("ann",))
    async with sched:
        await clock.advance(5)
        job = await sched.reschedule("g", Every(seconds=30))
        assert job.next_run_at == START + timedelta(seconds=35)
        assert job.args == ("ann",)
        fc_support.CALLS.clear()
        await clock.advance(60)
        assert len(fc_support.CALLS) == 2


async def test_modify_and_reschedule_are_atomic_under_concurrency(sched: Scheduler) -> None:
    await sched.add(fc_support.greet, Every(hours=1), id="g", args=("ann",))
    await asyncio.gather(
        sched.modify("g", retries=3),
        sched.modify("g", timeout=5),
        sched.reschedule("g", Every(minutes=5)),
        sched.modify("g", kwargs={"punctuation": "."}),
    )
    job = await sched.get("g")
    assert (job.options.retries, job.options.timeout, dict(job.kwargs)) == (
        3,
        5.0,
        {"punctuation": "."},
    )
    assert job.trigger == Every(minutes=5)


async def test_run_at_start_runs_once_at_start_then_on_schedule(
    sched: Scheduler, clock: FakeClock
) -> None:
    fc_support.CALLS.clear()
    await sched.add(fc_support.greet, Every(hours=1), id="g", args=("ann",), run_at_start=True)
    assert fc_support.CALLS == []  # not started yet
    async with sched:
        await clock.advance(0)
        assert len(fc_support.CALLS) == 1
        run = (await sched.get("g")).last_run
        assert run is not None and run.outcome is Outcome.SUCCESS
        assert (await sched.get("g")).next_run_at == START + timedelta(hours=1)
        await clock.advance(3600)
        assert len(fc_support.CALLS) == 2


async def test_run_at_start_on_a_running_scheduler_runs_now(
    running: Scheduler, clock: FakeClock
) -> None:
    calls: list[int] = []
    await running.add(lambda: calls.append(1), Every(hours=1), executor="inline", run_at_start=True)
    await clock.advance(0)
    assert calls == [1]


async def test_the_decorators_take_run_at_start(scheduler: Scheduler, clock: FakeClock) -> None:
    calls: list[str] = []

    @scheduler.every(hours=1, id="deco", run_at_start=True)
    async def deco() -> None:
        calls.append("deco")

    @aioscheduler.cron("0 0 * * *", id="marked", run_at_start=True)
    async def marked() -> None:
        calls.append("marked")

    scheduler.include(marked)
    async with scheduler:
        await clock.advance(0)
        assert sorted(calls) == ["deco", "marked"]
        await clock.advance(3600)
        assert sorted(calls) == ["deco", "deco", "marked"]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing a required argument: 'name'"),
        (("a", "b", "c"), {}, "too many positional arguments"),
        (("a",), {"colour": "red"}, "unexpected keyword argument 'colour'"),
    ],
    ids=["missing", "too-many", "unknown-keyword"],
)
async def test_add_checks_arguments_against_the_signature(
    scheduler: Scheduler, args: tuple[str, ...], kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidJob, match=message) as e:
        await scheduler.add(fc_support.greet, Every(seconds=1), args=args, kwargs=kwargs)
    assert "greet(name, punctuation='!') cannot be called with" in str(e.value)
    assert await scheduler.jobs() == []


def test_decorators_check_arguments_at_decoration(scheduler: Scheduler) -> None:
    with pytest.raises(InvalidJob, match="missing a required argument: 'x'"):

        @scheduler.every(seconds=1)
        async def needs_x(x: int) -> None: ...


async def test_callables_without_a_signature_are_accepted(scheduler: Scheduler) -> None:
    job = await scheduler.add(print, Every(seconds=1), args=("a", "b"), executor="inline")
    assert job.args == ("a", "b")
