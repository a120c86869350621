"""Issue 10 item 8: history writes that fail (a full disk) are retried, flushed at stop, and
what still cannot be written is reported.

The disk is really full for SQLite: ``PRAGMA max_page_count`` caps the database at its current
size on the store's own connection, and the last page of the history is filled up, so the
next history write fails with SQLITE_FULL ("database or disk is full") as on a full disk.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aioscheduler import Every, Outcome, Scheduler
from aioscheduler.events import RunFinished, SchedulerStopped
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing import FakeClock
from tests.stores import support


@pytest.fixture(autouse=True)
def calls() -> Iterator[list[tuple[str, float]]]:
    support.CALLS.clear()
    yield support.CALLS
    support.CALLS.clear()


def fill(conn: sqlite3.Connection) -> None:
    """Make the database full: no page may be added, the history's last page has no room."""
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")
    for size in (4000, 1000, 300, 100, 30, 10, 3, 1):
        while True:
            try:
                conn.execute(
                    "INSERT INTO runs (job_id, finished_at, record) VALUES ('~filler', 0, ?)",
                    (b"x" * size,),
                )
            except sqlite3.OperationalError as exc:
                if "full" not in str(exc):
                    raise
                break


def free(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA max_page_count = 1000000")


async def on_store(store: SQLiteStore, fn: Callable[[sqlite3.Connection], None]) -> None:
    await store._call(fn, store._file.conn)


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.01)


def history(db: Path) -> list[tuple[str, int]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT job_id, count(*) FROM runs GROUP BY job_id ORDER BY job_id")
        return [r for r in rows.fetchall() if r[0] != "~filler"]
    finally:
        conn.close()


async def test_a_write_that_failed_on_a_full_disk_is_retried_and_nothing_runs_twice(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "jobs.db"
    store = SQLiteStore(db)
    scheduler = Scheduler(store=store, clock=clock, allow=["tests.stores"])
    await scheduler.add(support.note, Every(seconds=10), id="j", args=("a",))
    finished: asyncio.Queue[RunFinished] = asyncio.Queue()
    scheduler.subscribe(finished.put_nowait, RunFinished)
    async with scheduler:
        await on_store(store, fill)
        await clock.advance(10)
        await asyncio.wait_for(finished.get(), 10)
        await until(lambda: "retrying in 0.5 s" in caplog.text, "the failure is logged")
        await clock.advance(0.5)  # the retry fails too: the disk is still full
        await until(lambda: "(attempt 2); retrying in 1.0 s" in caplog.text, "retried")
        await on_store(store, free)
        await clock.advance(1)  # the next retry writes it
        await until(lambda: "works again after 2 failed attempts" in caplog.text, "written")
        assert [r.outcome for r in (await scheduler.get("j")).history] == [Outcome.SUCCESS]
    assert history(db) == [("j", 1)]
    assert len(support.CALLS) == 1

    again = Scheduler(store=SQLiteStore(db), clock=clock, allow=["tests.stores"])
    async with again:
        await clock.advance(5)  # nothing left claimed: nothing runs again
    assert len(support.CALLS) == 1


async def test_what_a_full_disk_keeps_out_at_stop_is_reported(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "jobs.db"
    store = SQLiteStore(db)
    scheduler = Scheduler(store=store, clock=clock, allow=["tests.stores"])
    await scheduler.add(support.note, Every(seconds=10), id="j", args=("a",))
    finished: asyncio.Queue[RunFinished] = asyncio.Queue()
    stopped: list[SchedulerStopped] = []
    scheduler.subscribe(finished.put_nowait, RunFinished)
    scheduler.subscribe(stopped.append, SchedulerStopped)
    async with scheduler:
        await on_store(store, fill)
        await clock.advance(10)
        await asyncio.wait_for(finished.get(), 10)
        await until(lambda: "retrying in 0.5 s" in caplog.text, "the failure is logged")
    [event] = stopped
    assert len(event.unrecorded) == 1 and event.unrecorded[0].startswith("job 'j' at ")
    [record] = [r for r in caplog.records if "could not be recorded at stop()" in r.message]
    assert record.levelno == logging.ERROR and "job 'j'" in record.message
    assert history(db) == []


async def test_a_disk_freed_before_stop_is_flushed_at_stop(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "jobs.db"
    store = SQLiteStore(db)
    scheduler = Scheduler(store=store, clock=clock, allow=["tests.stores"])
    await scheduler.add(support.note, Every(seconds=10), id="j", args=("a",))
    finished: asyncio.Queue[RunFinished] = asyncio.Queue()
    scheduler.subscribe(finished.put_nowait, RunFinished)
    async with scheduler:
        await on_store(store, fill)
        await clock.advance(10)
        await asyncio.wait_for(finished.get(), 10)
        await until(lambda: "retrying in 0.5 s" in caplog.text, "the failure is logged")
        await on_store(store, free)  # no retry is due yet: stop() writes it
    assert history(db) == [("j", 1)]
