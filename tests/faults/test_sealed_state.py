"""Issue 10 item 5: with a secret_key, the SQLite store's schedule state is sealed.

Each test is the attack for real: a scheduler writes its jobs to a real file, the test edits
the file with ``sqlite3`` as someone with write access but without the key would, and a new
scheduler starts on it under a FakeClock. The tampered job is reported broken (``JobBroken``,
``broken_jobs()``) and never runs; the healthy job keeps its pace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aioscheduler import Every, Scheduler
from aioscheduler.errors import StoreError
from aioscheduler.events import JobBroken, RunFinished
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing import FakeClock
from tests.stores import support

KEY = "a-secret-key-of-32-characters-ok"


@pytest.fixture(autouse=True)
def calls() -> Iterator[list[tuple[str, float]]]:
    support.CALLS.clear()
    yield support.CALLS
    support.CALLS.clear()


def make(db: Path, clock: FakeClock, **options: Any) -> Scheduler:
    options.setdefault("secret_key", KEY)
    return Scheduler(store=SQLiteStore(db, **options), clock=clock, allow=["tests.stores"])


def sql(db: Path, statement: str, *params: object) -> list[tuple[Any, ...]]:
    """Read or write the file directly, as anyone with write access to it can."""
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        return conn.execute(statement, params).fetchall()


def put_row(db: Path, table: str, row: tuple[Any, ...]) -> None:
    sql(db, f"INSERT OR REPLACE INTO {table} VALUES ({', '.join('?' * len(row))})", *row)


async def written(db: Path, clock: FakeClock, victim: Every | None = None, **kw: Any) -> Scheduler:
    """A scheduler that wrote a healthy job and a victim to ``db`` (store closed after)."""
    first = make(db, clock)
    await first.add(support.note, Every(seconds=10), id="good", args=("good",))
    await first.add(support.note, victim or Every(seconds=10), id="victim", args=("v",), **kw)
    return first


async def three_runs(scheduler: Scheduler, clock: FakeClock) -> None:
    finished: asyncio.Queue[RunFinished] = asyncio.Queue()
    subscription = scheduler.subscribe(finished.put_nowait, RunFinished)
    for _ in range(3):
        await clock.advance(10)
        await asyncio.wait_for(finished.get(), 10)
    subscription.cancel()


async def only_the_victim_is_refused(db: Path, clock: FakeClock, reason: str) -> SQLiteStore:
    second = make(db, clock)
    broken: list[JobBroken] = []
    second.subscribe(broken.append, JobBroken)
    async with second:
        await three_runs(second, clock)
        assert [(e.job_id, reason in e.reason) for e in broken] == [("victim", True)], broken
        assert [j.id for j in await second.jobs()] == ["good"]
        store = second.store
        assert isinstance(store, SQLiteStore)
        assert [job_id for job_id, _ in store.broken_jobs()] == ["victim"]
    assert [tag for tag, _ in support.CALLS] == ["good"] * 3, "only the healthy job ran"
    return store


MISMATCH = "sealed state does not match"


async def test_a_paused_job_unpaused_in_the_file_is_refused(
    tmp_path: Path, clock: FakeClock
) -> None:
    db = tmp_path / "jobs.db"
    first = await written(db, clock)
    await first.pause("victim")
    await first.store.close()
    sql(db, "UPDATE jobs SET paused = 0 WHERE id = 'victim'")
    await only_the_victim_is_refused(db, clock, MISMATCH)


async def test_a_daily_job_made_due_now_in_the_file_is_refused(
    tmp_path: Path, clock: FakeClock
) -> None:
    db = tmp_path / "jobs.db"
    first = await written(
        db, clock, Every(hours=24, start_at=datetime.fromtimestamp(clock.time() + 3600, UTC))
    )
    await first.store.close()
    now = clock.time()
    sql(db, "UPDATE jobs SET nominal = ?1, run_at = ?1 WHERE id = 'victim'", now)
    await only_the_victim_is_refused(db, clock, MISMATCH)


async def test_fifty_forged_firings_do_not_run_an_overlapping_job(
    tmp_path: Path, clock: FakeClock
) -> None:
    db = tmp_path / "jobs.db"
    first = await written(db, clock, overlap="allow")
    await first.store.close()
    for i in range(50):
        sql(db, "INSERT INTO firings VALUES ('victim', ?1, ?1, 0, 1, 0, 'gone', 0, 1)",
            clock.time() - 1 - i)  # fmt: skip
    await only_the_victim_is_refused(db, clock, MISMATCH)


async def test_an_older_signed_row_put_back_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    db = tmp_path / "jobs.db"
    first = await written(db, clock)
    await first.store.close()
    [old] = sql(db, "SELECT * FROM jobs WHERE id = 'victim'")
    again = make(db, clock)
    await again.add(support.note, Every(seconds=10), id="victim", args=("new",), replace=True)
    await again.store.close()
    put_row(db, "jobs", old)  # a valid signature of an older definition and state
    await only_the_victim_is_refused(db, clock, MISMATCH)


async def test_a_row_from_another_database_with_the_same_key_is_refused(
    tmp_path: Path, clock: FakeClock
) -> None:
    db, other = tmp_path / "jobs.db", tmp_path / "other.db"
    await (await written(db, clock)).store.close()
    elsewhere = make(other, clock)
    await elsewhere.add(support.note, Every(seconds=1), id="victim", args=("elsewhere",))
    await elsewhere.store.close()
    [row] = sql(other, "SELECT * FROM jobs WHERE id = 'victim'")
    [tag] = sql(other, "SELECT * FROM seals WHERE job_id = 'victim'")
    put_row(db, "jobs", row)
    await only_the_victim_is_refused(db, clock, MISMATCH)
    # its seal too: the anchor no longer adds up, for the file as a whole
    put_row(db, "jobs", row)
    put_row(db, "seals", tag)
    with pytest.raises(StoreError, match="does not add up"):
        await make(db, clock).start()


async def test_a_deleted_row_is_reported_until_removed(tmp_path: Path, clock: FakeClock) -> None:
    db = tmp_path / "jobs.db"
    await (await written(db, clock)).store.close()
    sql(db, "DELETE FROM jobs WHERE id = 'victim'")
    store = await only_the_victim_is_refused(db, clock, "deleted")
    third = make(db, clock)
    async with third:
        await third.store.remove_broken("victim")  # type: ignore[attr-defined]
    broken: list[JobBroken] = []
    fourth = make(db, clock)
    fourth.subscribe(broken.append, JobBroken)
    async with fourth:
        assert [j.id for j in await fourth.jobs()] == ["good"]
    assert broken == [] and store is not None


async def test_a_row_rolled_back_with_its_seal_fails_the_store_until_accepted(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "jobs.db"
    first = await written(db, clock)
    await first.store.close()
    [row] = sql(db, "SELECT * FROM jobs WHERE id = 'victim'")
    [tag] = sql(db, "SELECT * FROM seals WHERE job_id = 'victim'")
    again = make(db, clock)
    await again.pause("victim")
    await again.store.close()
    put_row(db, "jobs", row)  # unpaused again, with the seal it had then
    put_row(db, "seals", tag)
    with pytest.raises(StoreError, match=r"does not add up.*accept_unsigned=True"):
        await make(db, clock).start()
    # the operator checked the file and accepts it as it is
    accepted = make(db, clock, accept_unsigned=True)
    with caplog.at_level(logging.WARNING, "aioscheduler.stores.sqlite"):
        async with accepted:
            assert {j.id: j.paused for j in await accepted.jobs()} == {
                "good": False,
                "victim": False,
            }
    assert "sealing it as found" in caplog.text
    async with make(db, clock) as fine:  # sealed again: opens without the switch
        assert len(await fine.jobs()) == 2


async def test_a_rollback_of_the_whole_file_is_not_detected(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The documented limit: the file restored from a copy is a consistent older state."""
    db = tmp_path / "jobs.db"
    await (await written(db, clock)).store.close()
    shutil.copy(db, tmp_path / "backup.db")
    again = make(db, clock)
    await again.pause("victim")
    await again.store.close()
    shutil.copy(tmp_path / "backup.db", db)
    broken: list[JobBroken] = []
    third = make(db, clock)
    third.subscribe(broken.append, JobBroken)
    async with third:
        assert {j.id: j.paused for j in await third.jobs()} == {"good": False, "victim": False}
    assert broken == []


async def test_without_a_key_state_edits_take_effect(tmp_path: Path, clock: FakeClock) -> None:
    """The control: nothing is sealed without a key (as documented)."""
    db = tmp_path / "jobs.db"
    first = make(db, clock, secret_key=None)
    await first.add(support.note, Every(seconds=10), id="victim", args=("v",), paused=True)
    await first.store.close()
    sql(db, "UPDATE jobs SET paused = 0 WHERE id = 'victim'")
    second = make(db, clock, secret_key=None)
    async with second:
        await three_runs(second, clock)
    assert [tag for tag, _ in support.CALLS] == ["v"] * 3


async def test_a_store_signed_before_state_was_sealed_is_sealed_once_accepted(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Upgrading: a schema-1 file (signed payloads, plain state) opens with every job broken
    ("not sealed") until opened once with accept_unsigned=True."""
    db = tmp_path / "jobs.db"
    await (await written(db, clock)).store.close()
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("DROP TABLE meta")
        conn.execute("DROP TABLE seals")
        conn.execute("ALTER TABLE jobs DROP COLUMN version")
        conn.execute("PRAGMA user_version = 1")
    broken: list[JobBroken] = []
    second = make(db, clock)
    second.subscribe(broken.append, JobBroken)
    async with second:
        assert await second.jobs() == []
    assert sorted(e.job_id for e in broken) == ["good", "victim"]
    assert all("not sealed" in e.reason for e in broken)
    async with make(db, clock, accept_unsigned=True) as third:
        assert len(await third.jobs()) == 2
    async with make(db, clock) as fourth:
        await three_runs(fourth, clock)
        assert len(await fourth.jobs()) == 2
