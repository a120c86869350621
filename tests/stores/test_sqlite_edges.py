"""SQLiteStore at its edges: one store object for two schedulers, options out of range, a run
record damaged in the file, calls that name what is not there."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from aioscheduler import Every, Outcome, Scheduler
from aioscheduler.errors import JobNotFound, SchedulerStateError
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing import FakeClock


def work() -> None:
    pass


async def test_one_store_object_serves_one_running_scheduler_at_a_time(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "jobs.db")
    first, second = Scheduler(store=store), Scheduler(store=store)
    async with first:
        with pytest.raises(SchedulerStateError, match="already used by another running"):
            await second.start()
        assert first.running and not second.running
    async with second:  # free again once the first stopped
        assert second.running


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lease": 0}, "lease must be a positive number of seconds or None, got 0"),
        ({"history_max_age": -1}, "history_max_age must be a positive number of seconds"),
        ({"lease": True}, "lease must be a positive number of seconds or None, got True"),
    ],
)
def test_durations_must_be_positive(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SQLiteStore(tmp_path / "jobs.db", **options)


async def test_a_damaged_run_record_is_skipped_and_the_rest_of_the_history_read(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "jobs.db"
    s = Scheduler(store=SQLiteStore(db), clock=clock, allow=["tests"])
    await s.add(work, Every(seconds=10), id="j", executor="inline")
    async with s:
        await clock.advance(30)
    assert len((await s.get("j")).history) == 3
    await s.stop()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE runs SET record = X'00' WHERE seq = (SELECT min(seq) FROM runs)")
    conn.close()
    again = Scheduler(store=SQLiteStore(db), clock=clock, allow=["tests"])
    try:
        with caplog.at_level(logging.WARNING, "aioscheduler"):
            job = await again.get("j")
        assert [run.outcome for run in job.history] == [Outcome.SUCCESS, Outcome.SUCCESS]
        with caplog.at_level(logging.WARNING, "aioscheduler"):
            modified = await again.modify("j", timeout=5)  # the history comes back with it
        assert modified.options.timeout == 5
        assert [run.outcome for run in modified.history] == [Outcome.SUCCESS, Outcome.SUCCESS]
        skipped = [r for r in caplog.records if "skipping unreadable run record" in r.getMessage()]
        assert len(skipped) == 2  # once per read, never fatal
        assert all("of job 'j'" in r.getMessage() for r in skipped)
    finally:
        await again.stop()


async def test_calls_naming_what_is_not_there_are_refused(tmp_path: Path) -> None:
    s = Scheduler(store=SQLiteStore(tmp_path / "jobs.db"), allow=["tests"])
    await s.add(work, Every(seconds=10), id="j")
    store = s.store
    assert isinstance(store, SQLiteStore)
    try:
        with pytest.raises(JobNotFound):
            await store.remove_broken("j")  # it exists, but is not broken
        with pytest.raises(ValueError, match="update_job\\(\\) must keep the id 'j', got 'k'"):
            await store.update_job(
                "j", lambda spec: dataclasses.replace(spec, id="k"), now=0.0, reschedule=False
            )
        assert [job.id for job in await s.jobs()] == ["j"]
    finally:
        await s.stop()


async def test_a_cancelled_call_ends_with_its_thread_even_if_the_loop_never_hears_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancelled store call waits for its transaction to end on the store's thread. It must
    watch the thread's own future: the loop-side copy of the result is a loop callback, which a
    second Ctrl-C can cut short, and waiting for that copy hung ``asyncio.run()`` at exit."""
    s = Scheduler(store=SQLiteStore(tmp_path / "jobs.db"))
    await s.start()
    try:
        store = s.store
        assert isinstance(store, SQLiteStore)
        entered, release = threading.Event(), threading.Event()
        ran: list[str] = []

        def transaction() -> str:
            entered.set()
            release.wait(10)
            ran.append("done")
            return "result"

        # the loop never learns that the thread finished: the copy of its result is lost
        copy = asyncio.futures._copy_future_state  # type: ignore[attr-defined]

        def lose_ours(source: Any, dest: Any) -> None:
            if source.cancelled() or source.exception() or source.result() != "result":
                copy(source, dest)

        monkeypatch.setattr(asyncio.futures, "_copy_future_state", lose_ours)
        call = asyncio.create_task(store._call(transaction))
        while not entered.is_set():
            await asyncio.sleep(0.001)
        call.cancel()
        await asyncio.sleep(0.01)
        assert not call.done()  # the transaction still runs: the call waits for it
        release.set()
        await asyncio.wait({call}, timeout=5)
        assert call.done(), "the cancelled call still waits for a result the loop never gets"
        assert call.cancelled()
        assert ran == ["done"]
    finally:
        monkeypatch.undo()
        await s.stop()
