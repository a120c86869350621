"""The job API: add, ids, replace, remove, pause/resume, run_now, get/jobs, run_pending."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from aioscheduler import After, At, Every, Outcome, Scheduler, Ticks
from aioscheduler.errors import InvalidJob, InvalidTrigger, JobExists, JobNotFound
from aioscheduler.testing import FakeClock

from .conftest import START


async def noop() -> None:
    pass


def sync_noop() -> None:
    pass


async def test_job_id_defaults_to_module_and_qualname(scheduler: Scheduler) -> None:
    job = await scheduler.add(noop, Every(seconds=5))
    assert job.id == f"{__name__}.noop"
    assert job.next_run_at == START + timedelta(seconds=5)
    assert job.paused is False
    assert isinstance(job.trigger, Every)


async def test_interval_job_fires_every_interval_without_drift(
    running: Scheduler, clock: FakeClock
) -> None:
    seen: list[float] = []

    async def tick() -> None:
        seen.append(clock.time() - START.timestamp())

    await running.add(tick, Every(seconds=10))
    await clock.advance(35)
    assert seen == [10.0, 20.0, 30.0]
    job = await running.get(f"{__name__}.{tick.__qualname__}")
    assert job.next_run_at == START + timedelta(seconds=40)
    assert job.last_run is not None
    assert job.last_run.outcome is Outcome.SUCCESS
    assert len(job.history) == 3


async def test_duplicate_id_is_an_error_unless_replace(scheduler: Scheduler) -> None:
    await scheduler.add(noop, Every(seconds=5), id="j")
    with pytest.raises(JobExists, match="'j'"):
        await scheduler.add(noop, Every(seconds=7), id="j")
    job = await scheduler.add(noop, Every(seconds=7), id="j", replace=True)
    assert job.next_run_at == START + timedelta(seconds=7)
    assert [j.id for j in await scheduler.jobs()] == ["j"]


async def test_unknown_ids_raise_job_not_found(scheduler: Scheduler) -> None:
    for call in (
        scheduler.remove,
        scheduler.pause,
        scheduler.resume,
        scheduler.get,
        scheduler.run_now,
    ):
        with pytest.raises(JobNotFound, match="'nope'"):
            await call("nope")
    assert issubclass(JobNotFound, LookupError)


async def test_removed_job_no_longer_fires(running: Scheduler, clock: FakeClock) -> None:
    calls: list[int] = []
    await running.add(lambda: calls.append(1), Every(seconds=1), id="j", executor="inline")
    await clock.advance(2)
    await running.remove("j")
    await clock.advance(5)
    assert calls == [1, 1]
    assert await running.jobs() == []


async def test_pause_stops_firings_and_resume_continues_without_catch_up(
    running: Scheduler, clock: FakeClock
) -> None:
    calls: list[float] = []
    await running.add(
        lambda: calls.append(clock.time() - START.timestamp()),
        Every(seconds=10),
        id="j",
        executor="inline",
    )
    await clock.advance(10)
    paused = await running.pause("j")
    assert paused.paused and paused.next_run_at is None
    await clock.advance(45)
    resumed = await running.resume("j")
    assert resumed.next_run_at == START + timedelta(seconds=60)
    await clock.advance(10)
    assert calls == [10.0, 60.0]


async def test_job_added_paused_does_not_fire_until_resumed(
    running: Scheduler, clock: FakeClock
) -> None:
    calls: list[int] = []
    await running.add(
        lambda: calls.append(1), Every(seconds=1), id="j", paused=True, executor="inline"
    )
    await clock.advance(3)
    assert calls == []
    await running.resume("j")
    await clock.advance(1)
    assert calls == [1]


async def test_run_now_runs_once_and_leaves_the_trigger_alone(
    running: Scheduler, clock: FakeClock
) -> None:
    calls: list[float] = []
    await running.add(
        lambda: calls.append(clock.time() - START.timestamp()),
        Every(seconds=10),
        id="j",
        executor="inline",
    )
    await clock.advance(3)
    await running.run_now("j")
    await clock.advance(0)
    assert calls == [3.0]
    assert (await running.get("j")).next_run_at == START + timedelta(seconds=10)
    await clock.advance(7)
    assert calls == [3.0, 10.0]


async def test_one_shot_jobs_fire_once_and_are_removed(
    running: Scheduler, clock: FakeClock
) -> None:
    calls: list[str] = []
    await running.add(
        calls.append, At(START + timedelta(seconds=5)), args=("at",), id="a", executor="inline"
    )
    await running.add(calls.append, After(2), args=("after",), id="b", executor="inline")
    await clock.advance(10)
    assert calls == ["after", "at"]
    assert await running.jobs() == []


async def test_at_in_the_past_runs_at_once(running: Scheduler, clock: FakeClock) -> None:
    calls: list[int] = []
    await running.add(calls.append, At(START - timedelta(seconds=30)), args=(1,), executor="inline")
    await clock.advance(0)
    assert calls == [1]


async def test_naive_at_needs_a_scheduler_timezone(clock: FakeClock) -> None:
    with pytest.raises(InvalidTrigger, match="naive"):
        await Scheduler(clock=clock).add(noop, At(START.replace(tzinfo=None)))
    s = Scheduler(clock=clock, timezone="UTC")
    job = await s.add(noop, At(START.replace(tzinfo=None) + timedelta(hours=1)))
    assert job.next_run_at == START + timedelta(hours=1)


async def test_ticks_job_fires_after_n_ticks_and_repeats(
    running: Scheduler, clock: FakeClock
) -> None:
    calls: list[str] = []
    await running.add(
        calls.append,
        Ticks(3, counter="req", repeat=True),
        args=("cleanup",),
        id="cleanup",
        executor="inline",
    )
    await running.add(calls.append, Ticks(2), args=("once",), id="once", executor="inline")
    for _ in range(7):
        running.tick("req")
        await clock.advance(0)
    running.tick(n=5)
    await clock.advance(0)
    assert calls.count("cleanup") == 2
    assert calls.count("once") == 1
    assert [j.id for j in await running.jobs()] == ["cleanup"]


async def test_bad_job_options_are_rejected_at_add(scheduler: Scheduler) -> None:
    cases: list[tuple[dict[str, object], str]] = [
        ({"overlap": "sometimes"}, "sometimes"),
        ({"misfire_grace": -1}, "-1"),
        ({"timeout": 0}, "timeout"),
        ({"retries": -2}, "-2"),
        ({"max_instances": 0, "overlap": "allow"}, "max_instances"),
        ({"max_instances": 2}, "overlap='allow'"),
        ({"executor": "gpu"}, "gpu"),
        ({"executor": "thread"}, "coroutine"),
        ({"args": "abc"}, "abc"),
        ({"kwargs": {1: 2}}, "str keys"),
        ({"id": ""}, "id"),
        ({"pause_after_failures": 0}, "pause_after_failures"),
        ({"retry_on": "ValueError"}, "retry_on"),
    ]
    for options, fragment in cases:
        with pytest.raises(InvalidJob, match=fragment):
            await scheduler.add(noop, Every(seconds=1), **options)  # type: ignore[arg-type]
    with pytest.raises(InvalidJob, match="callable"):
        await scheduler.add("noop", Every(seconds=1))  # type: ignore[arg-type]
    with pytest.raises(InvalidJob, match="Trigger"):
        await scheduler.add(noop, 5)  # type: ignore[arg-type]
    assert await scheduler.jobs() == []  # nothing half-added


async def test_a_bad_add_does_not_disturb_existing_jobs(scheduler: Scheduler) -> None:
    good = await scheduler.add(noop, Every(seconds=5), id="good")
    with pytest.raises(InvalidJob):
        await scheduler.add(noop, Every(seconds=5), id="good", overlap="bad", replace=True)  # type: ignore[arg-type]
    assert await scheduler.get("good") == good


async def test_jobs_added_before_start_wait_and_run_pending_drives_them(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    calls: list[int] = []
    await scheduler.add(lambda: calls.append(1), Every(seconds=5), id="j", executor="inline")
    await scheduler.add(lambda: calls.append(2), Every(seconds=50), id="k", executor="inline")
    clock.jump(6)
    assert calls == []
    assert await scheduler.run_pending() == 1
    assert calls == [1]
    assert (await scheduler.get("j")).next_run_at == START + timedelta(seconds=10)
    assert await scheduler.run_pending() == 0


async def test_a_callback_may_remove_its_own_job_and_add_others(
    running: Scheduler, clock: FakeClock
) -> None:
    calls: list[str] = []

    async def once_then_replace() -> None:
        calls.append("self")
        await running.remove("self")
        await running.add(lambda: calls.append("new"), After(1), id="new", executor="inline")

    await running.add(once_then_replace, Every(seconds=1), id="self")
    await clock.advance(5)
    assert calls == ["self", "new"]
    assert await running.jobs() == []


async def test_adds_from_eight_threads_at_once_lose_nothing(
    running: Scheduler, clock: FakeClock
) -> None:
    loop = asyncio.get_running_loop()
    errors: list[BaseException] = []

    def adder(k: int) -> None:
        for i in range(50):
            fut = asyncio.run_coroutine_threadsafe(
                running.add(noop, Every(seconds=1 + i), id=f"t{k}-{i}"), loop
            )
            try:
                fut.result(timeout=10)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=adder, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        await asyncio.sleep(0.01)
    assert errors == []
    assert len(await running.jobs()) == 400


async def test_sync_job_runs_on_a_worker_thread(running: Scheduler, clock: FakeClock) -> None:
    threads: list[int] = []
    await running.add(lambda: threads.append(threading.get_ident()), Every(seconds=1), id="t")
    await clock.advance(1)
    assert len(threads) == 1 and threads[0] != threading.get_ident()


async def test_job_failure_is_logged_reported_and_does_not_stop_the_scheduler(
    running: Scheduler, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom() -> None:
        raise ValueError("kaputt")

    await running.add(boom, Every(seconds=1), id="boom")
    await clock.advance(2)
    job = await running.get("boom")
    assert job.last_run is not None and job.last_run.outcome is Outcome.ERROR
    assert isinstance(job.last_run.error, ValueError)
    assert [r.outcome for r in job.history] == [Outcome.ERROR, Outcome.ERROR]
    failures = [r for r in caplog.records if getattr(r, "job_id", None) == "boom"]
    assert len(failures) == 2
    assert all(r.levelname == "ERROR" and r.exc_info for r in failures)
    assert running.running


async def test_jobs_without_history_lists_the_same_jobs_and_leaves_the_runs_out(
    running: Scheduler, clock: FakeClock
) -> None:
    await running.add(noop, Every(seconds=5), id="a")
    await running.add(noop, Every(seconds=7), id="b")
    await clock.advance(5)
    full = await running.jobs()
    bare = await running.jobs(history=False)
    assert [(j.id, j.next_run_at) for j in bare] == [(j.id, j.next_run_at) for j in full]
    assert {j.id: j.last_run is not None for j in full} == {"a": True, "b": False}
    assert [(j.history, j.last_run) for j in bare] == [((), None), ((), None)]
    assert len((await running.get("a")).history) == 1
