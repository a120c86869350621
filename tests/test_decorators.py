"""Decorators on the scheduler, module-level marks and include()."""

from __future__ import annotations

import types
from datetime import timedelta

import pytest

import aioscheduler
from aioscheduler import Cron, Every, Scheduler
from aioscheduler.errors import InvalidJob, InvalidTrigger
from aioscheduler.testing import FakeClock

from .conftest import START


async def test_scheduler_decorators_return_the_function_and_add_at_start(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    calls: list[str] = []

    @scheduler.every(seconds=10, id="ten")
    async def ten() -> None:
        calls.append("ten")

    @scheduler.cron("*/30 * * * * *", id="cron30")
    async def thirty() -> None:
        calls.append("cron30")

    @scheduler.at(START + timedelta(seconds=15), id="once")
    async def once() -> None:
        calls.append("once")

    assert ten.__name__ == "ten" and callable(thirty) and callable(once)
    assert await scheduler.jobs() == []  # declared, not yet added
    async with scheduler:
        assert {j.id for j in await scheduler.jobs()} == {"ten", "cron30", "once"}
        await clock.advance(30)
    assert calls[:3] == ["ten", "once", "ten"]
    assert sorted(calls[3:]) == ["cron30", "ten"]  # both due at :30


async def test_decorating_while_running_adds_at_once(running: Scheduler, clock: FakeClock) -> None:
    calls: list[int] = []

    @running.every(seconds=1, id="late", executor="inline")
    def late() -> None:
        calls.append(1)

    await clock.advance(1)
    assert calls == [1]


def test_decorator_arguments_fail_at_decoration_time(scheduler: Scheduler) -> None:
    with pytest.raises(InvalidTrigger):
        scheduler.every(seconds=-1)
    with pytest.raises(InvalidTrigger):
        scheduler.cron("61 * * * *")
    with pytest.raises(InvalidJob, match="sometimes"):

        @scheduler.every(seconds=1, overlap="sometimes")  # type: ignore[arg-type]
        async def f() -> None: ...


async def test_module_level_marks_are_added_by_include(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    calls: list[str] = []
    module = types.ModuleType("jobs_module")

    @aioscheduler.every(seconds=5, id="m.five")
    async def five() -> None:
        calls.append("five")

    @aioscheduler.cron("0 * * * *", id="m.hourly")
    async def hourly() -> None:
        calls.append("hourly")

    module.five = five  # type: ignore[attr-defined]
    module.hourly = hourly  # type: ignore[attr-defined]
    scheduler.include(module)
    async with scheduler:
        jobs = {j.id: j for j in await scheduler.jobs()}
        assert isinstance(jobs["m.five"].trigger, Every)
        assert isinstance(jobs["m.hourly"].trigger, Cron)
        await clock.advance(10)
    assert calls == ["five", "five"]


async def test_include_of_an_unmarked_function_or_empty_module_is_an_error(
    scheduler: Scheduler,
) -> None:
    async def plain() -> None: ...

    with pytest.raises(InvalidJob, match="no job declaration"):
        scheduler.include(plain)
    with pytest.raises(InvalidJob, match="declares no jobs"):
        scheduler.include(types.ModuleType("empty"))


async def test_restarting_keeps_a_declared_job_without_duplicate_errors(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    @scheduler.every(seconds=1, id="d", executor="inline")
    def d() -> None: ...

    async with scheduler:
        await clock.advance(1)
    async with scheduler:
        job = await scheduler.get("d")
        assert job.last_run is not None  # the same job, history kept
