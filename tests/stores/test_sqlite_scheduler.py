"""A Scheduler on a SQLite file, driven by FakeClock: firing, restarts, downtime, reconciling."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from aioscheduler import Every, Outcome, Scheduler
from aioscheduler.events import JobBroken, RunFinished
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing import FakeClock

from ..conftest import START
from . import support

T = START.timestamp()


@pytest.fixture(autouse=True)
def calls() -> Iterator[list[tuple[str, float]]]:
    support.CALLS.clear()
    yield support.CALLS
    support.CALLS.clear()


def make(db: Path, clock: FakeClock, **kwargs: object) -> Scheduler:
    # A restarted scheduler loads the stored jobs of these tests' modules: allow them.
    kwargs.setdefault("allow", ["tests.stores"])
    return Scheduler(store=SQLiteStore(db), clock=clock, **kwargs)  # type: ignore[arg-type]


async def test_jobs_fire_on_a_running_scheduler_and_history_is_kept(
    tmp_path: Path, clock: FakeClock, calls: list[tuple[str, float]]
) -> None:
    scheduler = make(tmp_path / "jobs.db", clock)
    finished: asyncio.Queue[RunFinished] = asyncio.Queue()
    scheduler.subscribe(finished.put_nowait, RunFinished)
    await scheduler.add(support.note, Every(seconds=10), id="j", args=("a",))
    async with scheduler:
        for i in (1, 2, 3):
            await clock.advance(10)  # one firing at a time: claims go through a thread
            event = await asyncio.wait_for(finished.get(), 10)
            assert event.run.scheduled_at == START + timedelta(seconds=10 * i)
    assert calls == [("a", T + 10), ("a", T + 20), ("a", T + 30)]
    again = make(tmp_path / "jobs.db", clock)
    job = await again.get("j")
    assert [r.outcome for r in job.history] == [Outcome.SUCCESS] * 3
    assert job.next_run_at == START + timedelta(seconds=40)
    await again.store.close()


async def test_jobs_and_their_state_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    first = make(tmp_path / "jobs.db", clock)
    await first.add(support.note, Every(seconds=10), id="run", args=("r",))
    await first.add(support.note, Every(seconds=10), id="held", args=("h",), paused=True)
    clock.jump(10)
    assert await first.run_pending() == 1
    await first.stop()
    await first.store.close()

    second = make(tmp_path / "jobs.db", clock)
    jobs = {j.id: j for j in await second.jobs()}
    assert jobs["run"].next_run_at == START + timedelta(seconds=20)
    assert jobs["held"].paused and jobs["held"].next_run_at is None
    clock.jump(10)
    assert await second.run_pending() == 1
    assert support.CALLS == [("r", T + 10), ("r", T + 20)]
    await second.store.close()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"coalesce": True}, [(Outcome.SUCCESS, 5, 3600)]),
        ({"coalesce": True, "misfire_grace": 30}, [(Outcome.MISSED, 6, 3600)]),
        ({"coalesce": False, "misfire_grace": 1500}, [(Outcome.MISSED, 3, 600)]),
    ],
    ids=["coalesced", "coalesced-but-too-late", "missed-then-caught-up"],
)
async def test_firings_due_while_down_follow_misfire_and_coalesce(
    tmp_path: Path,
    clock: FakeClock,
    options: dict[str, object],
    expected: list[tuple[Outcome, int, float]],
) -> None:
    first = make(tmp_path / "jobs.db", clock)
    await first.add(support.note, Every(minutes=10), id="j", args=("x",), **options)  # type: ignore[arg-type]
    await first.store.close()
    clock.jump(timedelta(hours=1, seconds=35))  # the process was down for an hour

    second = make(tmp_path / "jobs.db", clock)
    await second.run_pending()
    history = (await second.get("j")).history
    assert [(r.outcome, r.missed, r.scheduled_at.timestamp() - T) for r in history][
        : len(expected)
    ] == expected
    assert (await second.get("j")).next_run_at == START + timedelta(minutes=70)
    await second.store.close()


async def test_declared_jobs_are_reconciled_and_runtime_jobs_kept(
    tmp_path: Path, clock: FakeClock
) -> None:
    db = tmp_path / "jobs.db"
    first = make(db, clock)
    first.every(seconds=10, id="same", args=("s",))(support.note)
    first.every(seconds=10, id="changed", args=("c",))(support.note)
    await first.run_pending()  # adds the declared jobs
    await first.add(support.note, Every(seconds=10), id="runtime", args=("rt",))
    await first.store.close()
    clock.jump(3)

    second = make(db, clock)
    second.every(seconds=10, id="same", args=("s",))(support.note)
    second.every(seconds=20, id="changed", args=("c",))(support.note)
    await second.run_pending()
    jobs = {j.id: j for j in await second.jobs()}
    assert jobs["same"].next_run_at == START + timedelta(seconds=10), "left alone"
    assert jobs["changed"].next_run_at == START + timedelta(seconds=23), "updated"
    assert jobs["changed"].trigger == Every(seconds=20)
    assert jobs["runtime"].next_run_at == START + timedelta(seconds=10), "kept"
    await second.store.close()


async def test_a_broken_row_emits_job_broken_and_the_others_keep_running(
    tmp_path: Path, clock: FakeClock
) -> None:
    import sqlite3

    db = tmp_path / "jobs.db"
    first = Scheduler(store=f"sqlite:///{db}", secret_key="k" * 20, clock=clock)
    await first.add(support.note, Every(seconds=10), id="good", args=("g",))
    await first.add(support.note, Every(seconds=10), id="bad", args=("b",))
    await first.store.close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE jobs SET payload = CAST(replace(payload, '\"b\"', '\"B\"') AS BLOB)")
    conn.commit()
    conn.close()

    second = Scheduler(store=f"sqlite:///{db}", secret_key="k" * 20, clock=clock)
    broken: asyncio.Queue[JobBroken] = asyncio.Queue()
    finished: asyncio.Queue[RunFinished] = asyncio.Queue()
    second.subscribe(broken.put_nowait, JobBroken)
    second.subscribe(finished.put_nowait, RunFinished)
    async with second:
        event = await asyncio.wait_for(broken.get(), 10)
        assert event.job_id == "bad" and "signature" in event.reason
        assert [j.id for j in await second.jobs()] == ["good"]
        await clock.advance(10)
        run = (await asyncio.wait_for(finished.get(), 10)).run
        assert (run.job_id, run.outcome) == ("good", Outcome.SUCCESS)
    assert isinstance(second.store, SQLiteStore)
    assert [i for i, _ in second.store.broken_jobs()] == []  # closed: forgotten until reopened
