"""Module-level marks (`aioscheduler.every/cron`, `inline`): what can be marked, and two marks."""

from __future__ import annotations

import types
from typing import Any

import pytest

import aioscheduler
from aioscheduler import Every, Scheduler, inline
from aioscheduler.errors import InvalidJob
from aioscheduler.testing import FakeClock


def test_only_callables_with_an_attribute_dict_can_be_marked() -> None:
    not_callable: Any = 42
    with pytest.raises(InvalidJob, match="can only declare jobs on callables, got 42"):
        aioscheduler.every(seconds=5)(not_callable)
    with pytest.raises(InvalidJob, match="cannot mark <built-in function len> as a job"):
        aioscheduler.every(seconds=5)(len)


def test_inline_is_for_plain_functions_with_an_attribute_dict() -> None:
    async def coroutine_function() -> None: ...

    with pytest.raises(InvalidJob, match="inline is for plain functions"):
        inline(coroutine_function)
    with pytest.raises(InvalidJob, match="cannot mark <built-in function len> inline"):
        inline(len)


async def test_two_marks_on_one_function_declare_two_jobs(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    calls: list[str] = []

    @aioscheduler.every(seconds=5, id="often")
    @aioscheduler.every(seconds=20, id="rarely")
    async def work() -> None:
        calls.append("ran")

    module = types.ModuleType("two_marks")
    module.work = work  # type: ignore[attr-defined]
    scheduler.include(module)
    async with scheduler:
        jobs = {job.id: job.trigger for job in await scheduler.jobs()}
        await clock.advance(20)
    assert jobs == {"often": Every(seconds=5), "rarely": Every(seconds=20)}
    assert len(calls) == 5  # 5, 10, 15, 20 and 20
