"""PostgresStore at its edges, on the real server: driver errors that are not PostgreSQL or
network errors, a schema written by a newer version, a row whose definition cannot be read,
a store used while closed, a stray notification on the hint channel."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import asyncpg
import pytest

from aioscheduler import Cron
from aioscheduler._admission import Admission
from aioscheduler._values import JobOptions, JobSpec
from aioscheduler.errors import JobNotFound, StoreError, StoreVersionError
from aioscheduler.stores import StoreContext
from aioscheduler.stores.postgres import PostgresStore
from tests.distributed import jobs
from tests.distributed.harness import query
from tests.pg_support import PG_URL

ADMIT = Admission(["tests"])


def context(name: str, woken: list[float] | None = None) -> StoreContext:
    wake = woken.append if woken is not None else (lambda t: None)
    return StoreContext(name, wake, admission=ADMIT)


def spec(job_id: str) -> JobSpec:
    return JobSpec(job_id, jobs.noop, Cron("0 0 1 1 *"), (), {}, JobOptions())


async def test_an_internal_client_error_of_the_driver_is_a_store_error_and_drops_the_connection(
    pg_schema: str,
) -> None:
    """asyncpg raises ``InternalClientError`` (neither a PostgresError nor an InterfaceError)
    for a connection in a state it did not expect, e.g. one left mid-operation by a process
    frozen inside a query. Here the real driver raises it for a COPY it cannot encode."""
    store = PostgresStore(PG_URL, schema=pg_schema)
    await store.open(context("n#1"))
    db = store._db
    try:
        async with db.connection("preparing") as conn:
            await conn.execute(f'CREATE TABLE "{pg_schema}".probe (v tsvector)')
        used: list[asyncpg.Connection] = []

        async def copy_probe() -> None:
            async with db.connection("copying probe rows") as conn:
                used.append(conn._con)  # the driver's connection behind the pool's proxy
                await conn.copy_records_to_table("probe", schema_name=pg_schema, records=[("a",)])

        with pytest.raises(StoreError, match="copying probe rows: InternalClientError") as info:
            await copy_probe()
        assert isinstance(info.value.__cause__, asyncpg.InternalClientError)
        assert used[0].is_closed()  # never handed out again
        assert db.in_flight == 0
        assert await store.list_jobs() == []  # the pool connects again
    finally:
        await store.close()


async def test_a_schema_written_by_a_newer_version_is_refused_and_leaves_nothing_open(
    pg_schema: str,
) -> None:
    first = PostgresStore(PG_URL, schema=pg_schema)
    await first.open(context("n#1"))
    await first.close()
    await query(PG_URL, f"UPDATE \"{pg_schema}\".meta SET value = '999'")
    store = PostgresStore(PG_URL, schema=pg_schema)
    with pytest.raises(StoreVersionError, match="has version 999, written by a newer"):
        await store.open(context("n#2"))
    with pytest.raises(StoreError, match="is not open"):  # the pool was closed again
        await store.list_jobs()
    await store.close()  # a no-op on a store that is not open


async def test_a_job_whose_stored_definition_is_damaged_is_not_found(pg_schema: str) -> None:
    broken: list[tuple[str, str]] = []
    store = PostgresStore(PG_URL, schema=pg_schema)
    now = datetime.now(UTC).timestamp()
    await store.open(context("n#1"))
    try:
        await store.add_job(spec("good"), now=now, paused=False, replace=False)
        await store.add_job(spec("bad"), now=now, paused=False, replace=False)
    finally:
        await store.close()
    await query(
        PG_URL,
        f"UPDATE \"{pg_schema}\".jobs SET payload = '\\x00'::bytea WHERE id = 'bad'",
    )
    reader = PostgresStore(PG_URL, schema=pg_schema)
    await reader.open(
        StoreContext("n#2", lambda t: None, admission=ADMIT, on_broken=lambda *a: broken.append(a))
    )
    try:
        assert [job_id for job_id, _ in broken] == ["bad"]  # reported once, at open
        assert [job.id for job in await reader.list_jobs()] == ["good"]
        with pytest.raises(JobNotFound):
            await reader.get_job("bad")
        with pytest.raises(JobNotFound):
            await reader.set_paused("bad", True, now=now)
        with pytest.raises(JobNotFound):
            await reader.remove_job("bad")  # the damaged row goes
        assert (await reader.get_job("good")).id == "good"
        assert len(broken) == 1
    finally:
        await reader.close()
    rows = await query(PG_URL, f'SELECT id FROM "{pg_schema}".jobs ORDER BY id')
    assert [r["id"] for r in rows] == ["good"]


async def test_opening_an_open_store_again_starts_afresh(pg_schema: str) -> None:
    store = PostgresStore(PG_URL, schema=pg_schema)
    await store.open(context("n#1"))
    try:
        await store.add_job(
            spec("kept"), now=datetime.now(UTC).timestamp(), paused=False, replace=False
        )
        await store.open(context("n#2"))  # closes the first session first
        assert [job.id for job in await store.list_jobs()] == ["kept"]
    finally:
        await store.close()


async def test_a_notification_that_is_not_a_time_is_ignored(
    pg_schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    woken: list[float] = []
    store = PostgresStore(PG_URL, schema=pg_schema)
    await store.open(context("n#1", woken))
    try:
        for _ in range(100):  # the listener connects in the background
            if store._listener is not None and store._listener.up:
                break
            await asyncio.sleep(0.02)
        channel = store._opts.channel
        await query(PG_URL, "SELECT pg_notify($1, 'not a time'), pg_notify($1, '12345.5')", channel)
        for _ in range(100):
            if woken:
                break
            await asyncio.sleep(0.02)
        assert woken  # the valid hint arrived, after the stray one
        assert all(isinstance(t, float) for t in woken)
        assert len(woken) == 1
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # quietly ignored
    finally:
        await store.close()
