"""`aioscheduler jobs --store sqlite:///...` reads the file read-only, in process: each problem
with the file is one UsageError, each unreadable row is listed as broken, nothing is imported."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from aioscheduler._admission import Admission
from aioscheduler.cli._sqlite_view import read_sqlite
from aioscheduler.cli._target import UsageError
from aioscheduler.stores import StoreContext
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing.conformance import T0, finished, spec

ADMIT = Admission(allow=["aioscheduler.testing.conformance"])


async def written(db: Path, *job_ids: str) -> None:
    store = SQLiteStore(db)
    await store.open(StoreContext("node", lambda due: None, 10, admission=ADMIT))
    try:
        for job_id in job_ids:
            await store.add_job(spec(job_id), now=T0, paused=job_id.startswith("p"), replace=False)
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


async def test_the_jobs_are_listed_with_their_last_outcome(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    await written(db, "a", "paused")
    jobs, broken = read_sqlite(str(db), admission=ADMIT)
    assert broken == []
    listed = {job.id: job for job in jobs}
    assert listed["a"].last_outcome == "success" and listed["a"].next_run_at is not None
    assert listed["paused"].paused and listed["paused"].next_run_at is None


async def test_damaged_rows_are_broken_and_a_damaged_record_hides_only_the_outcome(
    tmp_path: Path,
) -> None:
    db = tmp_path / "jobs.db"
    await written(db, "a", "b", "c", "d")
    execute(db, "UPDATE jobs SET payload = ? WHERE id = 'b'", b"\x00not sealed")
    execute(db, "UPDATE jobs SET payload = ? WHERE id = 'c'", b"p1:{not json")
    execute(db, "UPDATE runs SET record = ? WHERE job_id = 'a'", b"\x00damaged")
    jobs, broken = read_sqlite(str(db), admission=ADMIT)
    assert sorted(job.id for job in jobs) == ["a", "d"]
    assert {job.id: job.last_outcome for job in jobs}["a"] == "?"
    reasons = dict(broken)
    assert set(reasons) == {"b", "c"}
    assert reasons["b"].startswith("cannot be read: ")


async def test_a_refused_row_is_broken_with_the_hint(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    await written(db, "a")
    _, broken = read_sqlite(str(db), refused_hint=" (use --allow)")
    [(job_id, reason)] = broken
    assert job_id == "a" and reason.startswith("RefusedReference: ")
    assert reason.endswith(" (use --allow)")


async def test_a_store_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    await written(db)
    execute(db, "PRAGMA user_version = 999")
    with pytest.raises(UsageError, match="schema version 999, written by a newer") as caught:
        read_sqlite(str(db))
    assert caught.value.exit_code == 1


def test_an_sqlite_database_of_another_program_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    execute(db, "CREATE TABLE t (x)")
    with pytest.raises(UsageError, match="is an SQLite database but not an aioscheduler store"):
        read_sqlite(str(db))


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("shopping list\n" * 100)
    with pytest.raises(UsageError, match="is not an SQLite database"):
        read_sqlite(str(notes))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(":memory:", "keeps nothing to list", id="memory"),
        pytest.param("missing/jobs.db", "does not exist", id="no-directory"),
        pytest.param("jobs.db", "the file does not exist", id="no-file"),
        pytest.param(".", "not a file", id="a-directory"),
    ],
)
def test_a_path_without_a_store_is_a_usage_error(tmp_path: Path, name: str, message: str) -> None:
    path = name if name == ":memory:" else str(tmp_path / name)
    with pytest.raises(UsageError, match=message) as caught:
        read_sqlite(path)
    assert caught.value.exit_code == 2
