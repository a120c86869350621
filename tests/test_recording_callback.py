"""With the built-in memory store, finished runs are written by a loop callback, not a task
(issue 11); a store write that suspends after all is finished in a task."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from aioscheduler import At, Outcome, Scheduler
from aioscheduler.stores.memory import MemoryStore
from aioscheduler.testing import FakeClock

from .conftest import START


async def noop() -> None:
    pass


@pytest.mark.parametrize("suspends", [False, True])
async def test_finished_runs_are_recorded_whether_the_write_suspends_or_not(
    running: Scheduler, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, suspends: bool
) -> None:
    if suspends:
        original = MemoryStore.release
        writes: list[int] = []

        async def release(self: MemoryStore, runs: Sequence[tuple[Any, Any]]) -> None:
            await asyncio.sleep(0)  # a bare yield
            fut = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(fut.set_result, None)
            await fut  # a future
            writes.append(len(runs))
            await original(self, runs)

        monkeypatch.setattr(MemoryStore, "release", release)
    for i in range(3):
        await running.add(noop, At(START.replace(second=10 + i)), id=f"j{i}")
    waiter = asyncio.ensure_future(running.wait_run("j2", timeout=None))
    await clock.advance(15)
    run = await asyncio.wait_for(waiter, 5)
    assert run.outcome is Outcome.SUCCESS
    if suspends:
        assert sum(writes) == 3
    assert running.statistics().unrecorded == 0
