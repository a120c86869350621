"""MemoryStore edges: one node per store, history limits changed on reopen, idempotent pauses."""

from __future__ import annotations

import dataclasses

import pytest

from aioscheduler.errors import SchedulerStateError
from aioscheduler.stores import Claim, MemoryStore, StoreContext
from aioscheduler.testing.conformance import T0, finished, spec


def context(node: str = "n1", history_limit: int = 10) -> StoreContext:
    return StoreContext(node, lambda due: None, history_limit)


async def run_once(store: MemoryStore, now: float) -> None:
    claims: list[Claim] = await store.acquire_due(now, 10)
    await store.release([(claim, finished(claim)) for claim in claims])


async def test_a_memory_store_belongs_to_one_node() -> None:
    store = MemoryStore()
    await store.open(context("n1"))
    await store.open(context("n1"))  # the same node may open it again
    with pytest.raises(SchedulerStateError):
        await store.open(context("n2"))


async def test_reopening_with_a_smaller_history_limit_keeps_the_latest_runs() -> None:
    store = MemoryStore()
    await store.open(context(history_limit=5))
    await store.add_job(spec("j"), now=T0, paused=False, replace=False)
    for k in range(4):
        await run_once(store, T0 + 10 * k)
    await store.open(context(history_limit=2))
    history = (await store.get_job("j")).history
    assert [run.scheduled_at.timestamp() - T0 for run in history] == [20.0, 30.0]


async def test_without_history_a_run_leaves_none() -> None:
    store = MemoryStore()
    await store.open(context(history_limit=0))
    await store.add_job(spec("j"), now=T0, paused=False, replace=False)
    await run_once(store, T0)
    assert (await store.get_job("j")).history == ()


async def test_an_update_must_keep_the_id() -> None:
    store = MemoryStore()
    await store.open(context())
    await store.add_job(spec("j"), now=T0, paused=False, replace=False)
    with pytest.raises(ValueError, match="must keep the id 'j', got 'k'"):
        await store.update_job(
            "j", lambda old: dataclasses.replace(old, id="k"), now=T0, reschedule=False
        )


async def test_pausing_a_paused_job_changes_nothing() -> None:
    store = MemoryStore()
    await store.open(context())
    first = await store.add_job(spec("j"), now=T0, paused=True, replace=False)
    assert await store.set_paused("j", True, now=T0 + 5) == first
