"""The dashboard's read-only view of a SQLite store file: reads rows without importing them and
refuses every write."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from aioscheduler import Outcome
from aioscheduler._admission import Admission
from aioscheduler.dashboard._readonly import SQLiteReader, StoredCallable
from aioscheduler.errors import JobNotFound, StoreError
from aioscheduler.stores import StoreContext
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing.conformance import T0, finished, spec

ADMIT = Admission(allow=["aioscheduler.testing.conformance"])


def context() -> StoreContext:
    return StoreContext("viewer", lambda due: None, 10, admission=ADMIT)


async def written(db: Path, *job_ids: str) -> None:
    store = SQLiteStore(db)
    await store.open(context())
    try:
        for job_id in job_ids:
            await store.add_job(spec(job_id), now=T0, paused=False, replace=False)
        for claim in await store.acquire_due(T0, 10):
            await store.release([(claim, finished(claim))])
    finally:
        await store.close()


def execute(db: Path, sql: str, *params: object) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute(sql, params)
    finally:
        conn.close()


async def test_jobs_are_read_with_their_history_and_their_callable_is_never_run(
    tmp_path: Path,
) -> None:
    db = tmp_path / "jobs.db"
    await written(db, "a", "b")
    reader = SQLiteReader(str(db), admission=ADMIT)
    await reader.open(context())
    job = await reader.get_job("a")
    assert [run.outcome for run in job.history] == [Outcome.SUCCESS]
    assert isinstance(job.func, StoredCallable)
    assert repr(job.func) == "<stored callable aioscheduler.testing.conformance:conformance_job>"
    with pytest.raises(StoreError, match="only shown by a read-only view"):
        job.func()
    with pytest.raises(JobNotFound):
        await reader.get_job("nope")
    assert [j.id for j in await reader.list_jobs()] == ["a", "b"]


async def test_damaged_rows_and_records_are_set_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "jobs.db"
    await written(db, "a", "b")
    execute(db, "UPDATE jobs SET payload = ? WHERE id = 'b'", b"\x00damaged")
    execute(db, "UPDATE runs SET record = ? WHERE job_id = 'a'", b"\x00damaged")
    reader = SQLiteReader(str(db))
    await reader.open(context())
    [job] = await reader.list_jobs()
    assert job.id == "a" and job.history == ()
    assert [job_id for job_id, _ in reader.broken_jobs()] == ["b"]
    assert "skipping unreadable run record of 'a'" in caplog.text


async def test_a_reader_with_a_policy_lists_refused_rows_as_broken(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    await written(db, "a")
    reader = SQLiteReader(str(db), admission=Admission())
    await reader.open(context())
    assert await reader.list_jobs() == []
    [(job_id, reason)] = reader.broken_jobs()
    assert job_id == "a" and reason.startswith("RefusedReference: ")


async def test_every_write_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    await written(db, "a")
    reader = SQLiteReader.from_url(f"sqlite:///{db}")
    await reader.open(context())
    for write in (
        reader.add_job(spec("x"), now=T0, paused=False, replace=False),
        reader.remove_job("a"),
        reader.set_paused("a", True, now=T0),
    ):
        with pytest.raises(StoreError, match="is read-only: change jobs through the scheduler"):
            await write
    assert await reader.acquire_due(T0 + 100, 10) == []
    assert reader.next_due() is None


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        pytest.param(lambda db: None, "the file does not exist", id="no-file"),
        pytest.param(
            lambda db: db.write_text("not a database" * 100), "cannot read", id="not-sqlite"
        ),
        pytest.param(
            lambda db: execute(db, "CREATE TABLE t (x)"),
            "not an aioscheduler SQLite store this version can read",
            id="another-program",
        ),
    ],
)
async def test_a_file_that_is_no_store_is_refused_at_open(
    tmp_path: Path, prepare: Callable[[Path], object], message: str
) -> None:
    db = tmp_path / "jobs.db"
    prepare(db)
    with pytest.raises(StoreError, match=message):
        await SQLiteReader(str(db)).open(context())
