"""The store conformance suites over PostgresStore (node-clock mode: the suites drive time)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aioscheduler.stores import Store
from aioscheduler.stores.postgres import PostgresStore
from aioscheduler.testing.conformance import SharedStoreConformance, StoreConformance
from tests.distributed.harness import query
from tests.pg_support import PG_URL


class RawWrites:
    """Raw row writes, as someone with write access to the database (the tampering tests)."""

    async def overwrite_job(self, store: Store, job_id: str, payload: bytes) -> None:
        assert isinstance(store, PostgresStore)
        sql = f'UPDATE "{store.schema}".jobs SET payload = $1 WHERE id = $2 RETURNING id'
        assert await query(PG_URL, sql, payload, job_id)

    async def append_run(self, store: Store, job_id: str, record: bytes) -> None:
        assert isinstance(store, PostgresStore)
        sql = f'INSERT INTO "{store.schema}".runs (job_id, finished_at, record) VALUES ($1, 0, $2)'
        await query(PG_URL, sql, job_id, record)


class TestPostgresStore(RawWrites, StoreConformance):
    persistent = True

    @pytest.fixture
    def make_store(self, pg_schema: str) -> Callable[[], Store]:
        return lambda: PostgresStore(PG_URL, schema=pg_schema, clock="node")

    async def crash(self, store: Store) -> None:
        assert isinstance(store, PostgresStore)
        await store._abandon()


class TestSignedPostgresStore(TestPostgresStore):
    @pytest.fixture
    def make_store(self, pg_schema: str) -> Callable[[], Store]:
        return lambda: PostgresStore(
            PG_URL, schema=pg_schema, clock="node", secret_key="k" * 32, encrypt=True
        )


class TestPostgresStoreShared(RawWrites, SharedStoreConformance):
    @pytest.fixture
    def make_store(self, pg_schema: str) -> Callable[[], Store]:
        return lambda: PostgresStore(PG_URL, schema=pg_schema, clock="node", lease=30)

    async def crash(self, store: Store) -> None:
        assert isinstance(store, PostgresStore)
        await store._abandon()
