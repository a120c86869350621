"""The store conformance suites over PostgresStore (node-clock mode: the suites drive time)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aioscheduler.stores import Store
from aioscheduler.stores.postgres import PostgresStore
from aioscheduler.testing.conformance import SharedStoreConformance, StoreConformance
from tests.pg_support import PG_URL


class TestPostgresStore(StoreConformance):
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


class TestPostgresStoreShared(SharedStoreConformance):
    @pytest.fixture
    def make_store(self, pg_schema: str) -> Callable[[], Store]:
        return lambda: PostgresStore(PG_URL, schema=pg_schema, clock="node", lease=30)

    async def crash(self, store: Store) -> None:
        assert isinstance(store, PostgresStore)
        await store._abandon()
