"""add() learns a plain function's signature once (issue 11: add() cost), and still refuses
bad arguments on every add, also after the function's defaults or code change."""

from __future__ import annotations

import pytest

from aioscheduler import Every, Scheduler
from aioscheduler.errors import InvalidJob


def needs_one(x: int) -> None:
    del x


async def coro_needs_one(x: int) -> None:
    del x


async def test_a_second_add_of_the_same_function_is_checked_the_same() -> None:
    s = Scheduler()
    jobs = [await s.add(needs_one, Every(seconds=60), id=f"ok{i}", args=(i,)) for i in range(3)]
    for i in range(3):
        with pytest.raises(InvalidJob, match=r"needs_one\(x\) cannot be called with \(\)"):
            await s.add(needs_one, Every(seconds=60), id=f"bad{i}")
        with pytest.raises(InvalidJob, match="cannot be called with"):
            await s.add(needs_one, Every(seconds=60), id=f"bad{i}", args=(1, 2))
    assert {j.options.executor for j in jobs} == {"thread"}


async def test_changed_defaults_or_code_are_seen_by_the_next_add() -> None:
    def f(x: int) -> None:
        del x

    s = Scheduler()
    with pytest.raises(InvalidJob):
        await s.add(f, Every(seconds=60), id="a")
    f.__defaults__ = (0,)
    await s.add(f, Every(seconds=60), id="b")  # now callable with no argument
    f.__defaults__ = None
    with pytest.raises(InvalidJob):
        await s.add(f, Every(seconds=60), id="c")
    f.__code__ = coro_needs_one.__code__  # now a coroutine function
    job = await s.add(f, Every(seconds=60), id="d", args=(1,))
    assert job.options.executor == "async"
    with pytest.raises(InvalidJob, match="cannot run coroutine function"):
        await s.add(f, Every(seconds=60), id="e", args=(1,), executor="thread")


async def test_a_wrapped_or_marked_function_is_not_cached() -> None:
    import functools

    @functools.wraps(needs_one)
    def wrapper(*args: object) -> None:
        del args

    s = Scheduler()
    with pytest.raises(InvalidJob):  # the signature of __wrapped__ is checked, as before
        await s.add(wrapper, Every(seconds=60), id="w")
