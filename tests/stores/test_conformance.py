"""The store conformance suite over every store we ship."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aioscheduler.stores import MemoryStore, Store
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing.conformance import StoreConformance


class TestMemoryStore(StoreConformance):
    persistent = False

    @pytest.fixture
    def make_store(self) -> Callable[[], Store]:
        return MemoryStore


class TestSQLiteStore(StoreConformance):
    persistent = True

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Callable[[], Store]:
        return lambda: SQLiteStore(tmp_path / "jobs.db")

    async def crash(self, store: Store) -> None:
        assert isinstance(store, SQLiteStore)
        await store._abandon()


class TestSignedSQLiteStore(TestSQLiteStore):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Callable[[], Store]:
        return lambda: SQLiteStore(tmp_path / "jobs.db", secret_key="k" * 32, encrypt=True)
