"""Issue 10 item 2: a damaged plain value in the SQLite file breaks one job, nothing else.

Real files: a scheduler writes the jobs, the test damages one column of one row with
``sqlite3`` (as a person or a buggy script with write access would), a new scheduler starts on
the file under a FakeClock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from aioscheduler import Every, Scheduler
from aioscheduler.errors import StoreError
from aioscheduler.events import JobBroken, RunFinished
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing import FakeClock
from tests.stores import support

DAMAGE = [
    ("UPDATE jobs SET nominal = 'soon' WHERE id = 'bad'", "nominal = 'soon'"),
    ("UPDATE jobs SET run_at = 'soon' WHERE id = 'bad'", "run_at = 'soon'"),
    ("UPDATE jobs SET nominal = 9e999, run_at = 9e999 WHERE id = 'bad'", "nominal = inf"),
    ("UPDATE jobs SET nominal = 1e300, run_at = 1e300 WHERE id = 'bad'", "nominal = 1e+300"),
    ("UPDATE jobs SET nominal = -9e999 WHERE id = 'bad'", "nominal = -inf"),
    ("UPDATE jobs SET run_at = NULL WHERE id = 'bad'", "one is missing"),
    ("UPDATE jobs SET paused = 'no' WHERE id = 'bad'", "paused = 'no'"),
    ("UPDATE jobs SET paused = 7 WHERE id = 'bad'", "paused = 7"),
    ("UPDATE jobs SET payload = 12 WHERE id = 'bad'", "payload = 12"),
    ("INSERT INTO firings VALUES ('bad', 'x', 0, 0, 1, 0, 'n', 0, 1)", "slot = 'x'"),
    ("INSERT INTO firings VALUES ('bad', 1e300, 1e300, 0, 1, 0, 'n', 0, 1)", "slot = 1e+300"),
    ("INSERT INTO firings VALUES ('bad', 1.0, 9e999, 0, 1, 0, 'n', 0, 1)", "run_at = inf"),
    ("INSERT INTO firings VALUES ('bad', 1.0, 1.0, -5, 1, 0, 'n', 0, 1)", "missed = -5"),
    ("INSERT INTO firings VALUES ('bad', 1.0, 1.0, 0, 'y', 0, 'n', 0, 1)", "run = 'y'"),
    ("INSERT INTO firings VALUES ('bad', 1.0, 1.0, 0, 1, 0, X'05', 0, 1)", "owner = b'\\x05'"),
    ("INSERT INTO firings VALUES ('bad', 1.0, 1.0, 0, 1, 0, 'n', 0, 0)", "attempt = 0"),
    ("INSERT INTO firings VALUES ('bad', 1.0, 1.0, 0, 1, 0, 'n', 0, 'a')", "attempt = 'a'"),
]


@pytest.fixture(autouse=True)
def calls() -> Iterator[list[tuple[str, float]]]:
    support.CALLS.clear()
    yield support.CALLS
    support.CALLS.clear()


def make(db: Path, clock: FakeClock) -> Scheduler:
    return Scheduler(store=SQLiteStore(db), clock=clock, allow=["tests.stores"])


async def three_runs(scheduler: Scheduler, clock: FakeClock) -> None:
    """Advance 10 s three times, each time until the firing due has finished (claims and
    records go through the store's thread, which FakeClock does not wait for)."""
    finished: asyncio.Queue[RunFinished] = asyncio.Queue()
    subscription = scheduler.subscribe(finished.put_nowait, RunFinished)
    for _ in range(3):
        await clock.advance(10)
        await asyncio.wait_for(finished.get(), 10)
    subscription.cancel()


@pytest.mark.parametrize(("sql", "named"), DAMAGE, ids=[d[1] for d in DAMAGE])
async def test_one_damaged_value_breaks_only_its_job(
    tmp_path: Path, clock: FakeClock, sql: str, named: str
) -> None:
    db = tmp_path / "jobs.db"
    first = make(db, clock)
    await first.add(support.note, Every(seconds=10), id="bad", args=("bad",))
    await first.add(support.note, Every(seconds=10), id="good", args=("good",))
    await first.store.close()
    with sqlite3.connect(db) as conn:
        conn.execute(sql)
    conn.close()

    second = make(db, clock)
    broken: list[JobBroken] = []
    second.subscribe(broken.append, JobBroken)
    async with second:  # start() does not raise
        await three_runs(second, clock)
        assert second.running
        [event] = broken
        assert event.job_id == "bad" and named in event.reason
        assert [j.id for j in await second.jobs()] == ["good"]
        store = second.store
        assert isinstance(store, SQLiteStore)
        assert [job_id for job_id, _ in store.broken_jobs()] == ["bad"]
    assert [tag for tag, _ in support.CALLS] == ["good"] * 3, "the healthy job kept its pace"


async def test_a_trigger_that_fails_on_its_data_breaks_only_its_job(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "jobs.db"
    scheduler = make(db, clock)
    await scheduler.add(support.note, Every(seconds=10), id="good", args=("good",))
    await scheduler.add(support.note, Every(seconds=7), id="bad", args=("bad",))
    broken: list[JobBroken] = []
    scheduler.subscribe(broken.append, JobBroken)
    original = Every.next_after_ts

    def next_after_ts(self: Every, ts: float) -> float | None:
        if self.interval.total_seconds() == 7:
            raise OverflowError("damaged")
        return original(self, ts)

    monkeypatch.setattr(Every, "next_after_ts", next_after_ts)
    async with scheduler:
        await three_runs(scheduler, clock)
        assert scheduler.running
        assert [e.job_id for e in broken] == ["bad"]
    assert [tag for tag, _ in support.CALLS] == ["good"] * 3


async def test_a_store_error_while_claiming_does_not_end_the_dispatcher(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler = make(tmp_path / "jobs.db", clock)
    await scheduler.add(support.note, Every(seconds=10), id="good", args=("good",))
    store = scheduler.store
    assert isinstance(store, SQLiteStore)
    original = store.acquire_due
    # a StoreError is an outage: backed off and retried (any other error is a bug and stops
    # the scheduler: tests/test_supervision.py)
    failures = [StoreError("database is locked")]

    async def acquire_due(now: float, limit: int) -> list[object]:
        if failures:
            raise failures.pop()
        return list(await original(now, limit))

    monkeypatch.setattr(store, "acquire_due", acquire_due)
    async with scheduler:
        await clock.advance(10)  # the claim fails: retried after a backoff
        assert scheduler.running and not failures
        await three_runs(scheduler, clock)
        assert scheduler.running
    assert len(support.CALLS) >= 3, "the dispatcher went on"
