"""The direct path of ``add()``/``remove()`` (a running scheduler on a plain MemoryStore: no
registry or store coroutine) and the caches of ``add()``'s checks (issue 11: add() cost) keep
every check, every error and every job already there."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from aioscheduler import Every, Scheduler
from aioscheduler._values import Job, JobSpec
from aioscheduler.errors import InvalidJob, JobExists, JobNotFound
from aioscheduler.events import Event, JobAdded, JobRemoved
from aioscheduler.stores._memory_jobs import new_job


def two(x: int, y: int = 0, *, z: int = 0) -> None:
    del x, y, z


async def noop() -> None:
    return None


def two_none() -> None:
    return None


def test_new_job_is_job_of() -> None:
    at = datetime(2030, 1, 1, tzinfo=UTC)
    spec = JobSpec("x", noop, Every(seconds=5), (1,), {"a": 2}, None)  # type: ignore[arg-type]
    for history in ((),):
        for paused in (False, True):
            made = new_job(spec, at, paused, history)
            assert made == Job.of(spec, next_run_at=at, paused=paused, history=history)
            assert repr(made) == repr(Job.of(spec, next_run_at=at, paused=paused, history=history))
            assert made.spec == spec


async def test_a_taken_id_fails_and_keeps_the_job_there() -> None:
    async with Scheduler() as s:
        first = await s.add(noop, Every(seconds=60), id="a")
        with pytest.raises(JobExists):
            await s.add(noop, Every(seconds=30), id="a")
        kept = await s.get("a")
        assert kept.trigger == first.trigger and kept.next_run_at == first.next_run_at
        replaced = await s.add(noop, Every(seconds=30), id="a", replace=True)
        assert (await s.get("a")).trigger == replaced.trigger


async def test_the_direct_path_gives_what_the_store_keeps_and_emits_events() -> None:
    start = datetime.now(UTC) + timedelta(hours=1)
    async with Scheduler() as s:
        seen: list[Event] = []
        s.subscribe(seen.append, JobAdded, JobRemoved)
        job = await s.add(noop, Every(seconds=60, start_at=start), id="a", paused=False)
        assert job == await s.get("a")
        assert job.next_run_at == start and not job.paused and job.history == ()
        paused = await s.add(noop, Every(seconds=60), id="b", paused=True)
        assert paused.paused and paused.next_run_at is None
        await s.remove("a")
        with pytest.raises(JobNotFound):
            await s.get("a")
        with pytest.raises(JobNotFound):
            await s.remove("a")
        for _ in range(100):
            if len(seen) == 3:
                break
            await asyncio.sleep(0.01)
        assert [(type(e).__name__, getattr(e, "job_id", None)) for e in seen] == [
            ("JobAdded", "a"),
            ("JobAdded", "b"),
            ("JobRemoved", "a"),
        ]
        assert [j.id for j in await s.jobs()] == ["b"]


async def test_an_argument_shape_that_bound_once_is_still_checked_for_the_others() -> None:
    async with Scheduler() as s:
        await s.add(two, Every(seconds=60), id="a", args=(1,))
        await s.add(two, Every(seconds=60), id="b", args=(2,))  # same shape: cached
        await s.add(two, Every(seconds=60), id="c", args=(1,), kwargs={"z": 3})
        await s.add(two, Every(seconds=60), id="d", args=(4,), kwargs={"z": 5})
        with pytest.raises(InvalidJob, match=r"cannot be called with \(1, 2, 3\)"):
            await s.add(two, Every(seconds=60), id="e", args=(1, 2, 3))
        with pytest.raises(InvalidJob, match=r"cannot be called with \(1, w=7\)"):
            await s.add(two, Every(seconds=60), id="f", args=(1,), kwargs={"w": 7})
        with pytest.raises(InvalidJob, match=r"cannot be called with \(y=7\)"):
            await s.add(two, Every(seconds=60), id="g", kwargs={"y": 7})
        two.__defaults__ = None  # y is required now: the cached shapes go with the defaults
        try:
            with pytest.raises(InvalidJob, match=r"cannot be called with \(1\)"):
                await s.add(two, Every(seconds=60), id="h", args=(1,))
        finally:
            two.__defaults__ = (0,)
        assert sorted(j.id for j in await s.jobs()) == ["a", "b", "c", "d"]


async def test_a_function_given_a_dict_after_an_add_is_checked_afresh() -> None:
    def f(x: int) -> None:
        del x

    async with Scheduler() as s:
        await s.add(f, Every(seconds=60), id="a", args=(1,))
        f.__wrapped__ = two_none  # type: ignore[attr-defined]  # a __dict__; inspect follows it
        with pytest.raises(InvalidJob, match="cannot be called with"):
            await s.add(f, Every(seconds=60), id="b", args=(1,))


async def test_specs_and_snapshots_are_the_frozen_dataclasses() -> None:
    import dataclasses

    from aioscheduler._specs import _new_spec

    spec = _new_spec("x", noop, Every(seconds=5), (1,), {"a": 2}, None)  # type: ignore[arg-type]
    assert type(spec) is JobSpec
    assert spec == JobSpec("x", noop, Every(seconds=5), (1,), {"a": 2}, None)  # type: ignore[arg-type]
    bare = JobSpec("x", noop, Every(seconds=5), (1,), (), None)  # type: ignore[arg-type]
    assert hash(dataclasses.replace(spec, kwargs=bare.kwargs)) == hash(bare)
    async with Scheduler() as s:
        job = await s.add(noop, Every(seconds=60), id="a")
        assert type(job) is Job and type(job.spec) is JobSpec
        for frozen, field in ((job, "paused"), (job.spec, "id")):
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(frozen, field, None)
        assert dataclasses.asdict(job)["id"] == "a"
