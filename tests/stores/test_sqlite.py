"""SQLiteStore specifics: URLs, file checks, protection at rest, broken rows, retention."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aioscheduler import Every, Outcome, Scheduler
from aioscheduler._admission import Admission
from aioscheduler.errors import (
    InvalidConfiguration,
    JobNotFound,
    SerializationError,
    StoreError,
    StoreVersionError,
)
from aioscheduler.stores import StoreContext, store_from_url
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing.conformance import T0, finished, spec

from . import support

KEY, OLD_KEY = "new-secret-key-0123456789", "old-secret-key-0123456789"


async def opened(store: SQLiteStore, broken: list[tuple[str, str]] | None = None) -> SQLiteStore:
    on_broken = (lambda i, r: broken.append((i, r))) if broken is not None else None
    admission = Admission(allow=["aioscheduler.testing.conformance", "tests"])
    context = StoreContext("node", lambda due: None, 10, admission=admission)
    if on_broken is not None:
        context = StoreContext("node", lambda due: None, 10, on_broken, admission=admission)
    await store.open(context)
    return store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "jobs.db"


@pytest.fixture
async def store(db: Path) -> AsyncIterator[SQLiteStore]:
    s = await opened(SQLiteStore(db))
    yield s
    await s.close()


def raw(db: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# -- URLs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///jobs.db", "jobs.db"),
        ("sqlite:///data/jobs.db", "data/jobs.db"),
        ("sqlite:////var/lib/app/jobs.db", "/var/lib/app/jobs.db"),
    ],
    ids=["relative", "relative-dir", "absolute"],
)
def test_store_urls_name_relative_and_absolute_paths(url: str, path: str) -> None:
    store = store_from_url(url)
    assert isinstance(store, SQLiteStore) and store.path == path


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://host/jobs.db"])
def test_malformed_sqlite_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidConfiguration, match=r"sqlite:///relative\.db"):
        store_from_url(url)


def test_scheduler_hands_keys_to_a_store_url(db: Path) -> None:
    scheduler = Scheduler(store=f"sqlite:///{db}", secret_key=KEY, old_keys=[OLD_KEY])
    assert isinstance(scheduler.store, SQLiteStore) and "signed" in repr(scheduler.store)
    with pytest.raises(InvalidConfiguration, match="give them to the store object"):
        Scheduler(store=SQLiteStore(db), secret_key=KEY)
    with pytest.raises(SerializationError, match="too weak"):
        Scheduler(store=f"sqlite:///{db}", secret_key="short")


# -- the file ------------------------------------------------------------------------------------


async def test_schema_is_versioned_and_a_newer_file_is_refused(db: Path) -> None:
    await (await opened(SQLiteStore(db))).close()
    assert raw(db, "PRAGMA user_version") == [(1,)]
    assert raw(db, "PRAGMA journal_mode") == [("wal",)]
    raw(db, "PRAGMA user_version = 99")
    with pytest.raises(StoreVersionError, match=r"schema version 99.*Upgrade aioscheduler"):
        await opened(SQLiteStore(db))
    raw(db, "PRAGMA user_version = 1")
    await (await opened(SQLiteStore(db))).close()  # a refused open let go of the file lock


@pytest.fixture
def garbage(db: Path) -> Path:
    db.write_bytes(b"this is not a database, it is a shopping list" * 100)
    return db


async def test_a_file_that_is_not_a_database_is_a_clear_store_error(garbage: Path) -> None:
    db = garbage
    with pytest.raises(StoreError, match="not a usable aioscheduler SQLite database"):
        await opened(SQLiteStore(db))
    with pytest.raises(StoreError, match="not a usable"):  # the same again: no stale lock
        await opened(SQLiteStore(db))


async def test_another_applications_database_is_refused(db: Path) -> None:
    raw(db, "CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StoreError, match="tables of another application"):
        await opened(SQLiteStore(db))


async def test_a_second_store_object_on_the_same_file_is_refused(
    db: Path, store: SQLiteStore
) -> None:
    with pytest.raises(StoreError, match="one writer per file"):
        await opened(SQLiteStore(db))


async def test_driver_errors_reach_callers_as_store_errors(db: Path, store: SQLiteStore) -> None:
    await store.add_job(spec(), now=T0, paused=False, replace=False)
    [claim] = await store.acquire_due(T0, 10)
    raw(db, "DROP TABLE runs")
    with pytest.raises(StoreError, match="no such table") as info:
        await store.release([(claim, finished(claim))])
    assert isinstance(info.value.__cause__, sqlite3.Error)
    with pytest.raises(StoreError):
        await store.get_job("job")


# -- what can be stored --------------------------------------------------------------------------


async def test_unstorable_jobs_are_refused_at_add_and_nothing_is_stored(db: Path) -> None:
    scheduler = Scheduler(store=SQLiteStore(db))

    def local() -> None:
        pass

    with pytest.raises(SerializationError, match="lambda"):
        await scheduler.add(lambda: None, Every(seconds=1), id="a")
    with pytest.raises(SerializationError, match="inside another function"):
        await scheduler.add(local, Every(seconds=1), id="b")
    with pytest.raises(SerializationError, match=r"kwargs\['conn'\] of type object"):
        await scheduler.add(support.note, Every(seconds=1), id="c", kwargs={"conn": object()})
    assert await scheduler.jobs() == []
    await scheduler.store.close()  # opened by jobs() without start(): stop() would not close it


# -- protection at rest and broken rows ----------------------------------------------------------


async def add_two(store: SQLiteStore) -> None:
    await store.add_job(spec("good"), now=T0, paused=False, replace=False)
    await store.add_job(spec("victim"), now=T0, paused=False, replace=False)


async def test_a_tampered_row_is_reported_broken_and_skipped(db: Path) -> None:
    store = await opened(SQLiteStore(db, secret_key=KEY))
    await add_two(store)
    await store.close()
    raw(db, "UPDATE jobs SET payload = replace(payload, 'conformance_job', 'evil_job') "
        "WHERE id = 'victim'")  # fmt: skip
    broken: list[tuple[str, str]] = []
    store = await opened(SQLiteStore(db, secret_key=KEY), broken)
    try:
        assert [i for i, _ in broken] == ["victim"] and "signature" in broken[0][1]
        assert store.broken_jobs() == broken
        assert [j.id for j in await store.list_jobs()] == ["good"]
        with pytest.raises(JobNotFound):
            await store.get_job("victim")
        assert [c.spec.id for c in await store.acquire_due(T0, 10)] == ["good"]
        await store.remove_broken("victim")
        assert store.broken_jobs() == []
    finally:
        await store.close()
    assert raw(db, "SELECT id FROM jobs") == [("good",)]


async def test_a_job_whose_function_is_gone_is_reported_broken(db: Path) -> None:
    store = await opened(SQLiteStore(db))
    await add_two(store)
    await store.close()
    raw(db, "UPDATE jobs SET payload = replace(payload, ':conformance_job', ':gone') "
        "WHERE id = 'victim'")  # fmt: skip
    broken: list[tuple[str, str]] = []
    store = await opened(SQLiteStore(db), broken)
    try:
        assert broken == [("victim", broken[0][1])] and "gone" in broken[0][1]
        job = await store.add_job(spec("victim"), now=T0, paused=False, replace=False)
        assert job.id == "victim" and store.broken_jobs() == [], "a new definition replaces it"
    finally:
        await store.close()


async def test_rotated_keys_still_open_old_rows_and_rows_are_resealed(db: Path) -> None:
    store = await opened(SQLiteStore(db, secret_key=OLD_KEY))
    await add_two(store)
    await store.close()
    before = raw(db, "SELECT payload FROM jobs")
    store = await opened(SQLiteStore(db, secret_key=KEY, old_keys=[OLD_KEY], encrypt=True))
    assert store.broken_jobs() == []
    await store.close()
    after = raw(db, "SELECT payload FROM jobs")
    assert all(bytes(p).startswith(b"e1:") for (p,) in after) and after != before  # type: ignore[call-overload]
    store = await opened(SQLiteStore(db, secret_key=KEY))  # the old key is no longer needed
    assert [j.id for j in await store.list_jobs()] == ["good", "victim"]
    await store.close()
    broken: list[tuple[str, str]] = []
    await (await opened(SQLiteStore(db, secret_key=OLD_KEY), broken)).close()
    assert [i for i, _ in broken] == ["good", "victim"]


# -- history retention ---------------------------------------------------------------------------


async def test_history_is_bounded_by_age(db: Path) -> None:
    store = await opened(SQLiteStore(db, history_max_age=60))
    try:
        await store.add_job(spec(), now=T0, paused=False, replace=False)
        for now in (T0, T0 + 10, T0 + 120):
            for claim in await store.acquire_due(now, 10):
                await store.release([(claim, finished(claim))])
        history = (await store.get_job("job")).history
        assert [r.scheduled_at.timestamp() for r in history] == [T0 + 120]
        assert history[0].outcome is Outcome.SUCCESS
    finally:
        await store.close()


async def test_errors_come_back_as_recorded_errors(db: Path) -> None:
    from aioscheduler.stores._codec import RecordedError

    store = await opened(SQLiteStore(db))
    try:
        await store.add_job(spec(), now=T0, paused=False, replace=False)
        [claim] = await store.acquire_due(T0, 10)
        run = finished(claim, Outcome.ERROR)
        run = run._replace(error=KeyError("x"))
        await store.release([(claim, run)])
        [got] = (await store.get_job("job")).history
        assert isinstance(got.error, RecordedError) and got.error.type_name == "builtins.KeyError"
    finally:
        await store.close()
