"""The store conformance suite over every store we ship."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aioscheduler.stores import MemoryStore, Store
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing.conformance import SharedStoreConformance, StoreConformance

from .redis_support import REDIS_URL


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

    async def overwrite_job(self, store: Store, job_id: str, payload: bytes) -> None:
        assert isinstance(store, SQLiteStore)
        _raw(store, "UPDATE jobs SET payload = ? WHERE id = ?", payload, job_id)

    async def append_run(self, store: Store, job_id: str, record: bytes) -> None:
        assert isinstance(store, SQLiteStore)
        _raw(store, "INSERT INTO runs (job_id, finished_at, record) VALUES (?, 0, ?)", job_id,
             record)  # fmt: skip

    async def job_row(self, store: Store, job_id: str) -> Any:
        assert isinstance(store, SQLiteStore)
        with contextlib.closing(sqlite3.connect(store.path)) as conn:
            return conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()

    async def put_job_row(self, store: Store, job_id: str, row: Any) -> None:
        assert isinstance(store, SQLiteStore)
        marks = ", ".join("?" * len(row))
        _raw(store, f"INSERT OR REPLACE INTO jobs VALUES ({marks})", *row)

    async def edit_state(
        self, store: Store, job_id: str, *, paused: bool | None = None, due: float | None = None
    ) -> None:
        assert isinstance(store, SQLiteStore)
        if paused is not None:
            _raw(store, "UPDATE jobs SET paused = ? WHERE id = ?", int(paused), job_id)
        if due is not None:
            _raw(store, "UPDATE jobs SET nominal = ?1, run_at = ?1 WHERE id = ?2", due, job_id)

    async def forge_firing(self, store: Store, job_id: str, slot: float) -> None:
        assert isinstance(store, SQLiteStore)
        sql = "INSERT INTO firings VALUES (?1, ?2, ?2, 0, 1, 0, 'dead-node', 0, 1)"
        _raw(store, sql, job_id, slot)

    async def other_store(self, store: Store) -> Store:
        assert isinstance(store, SQLiteStore)
        return self.make_other(Path(store.path).with_name("other.db"))

    def make_other(self, path: Path) -> SQLiteStore:
        return SQLiteStore(path)


def _raw(store: SQLiteStore, sql: str, *params: object) -> None:
    """Write the file directly, as anyone with write access to it can."""
    conn = sqlite3.connect(store.path, isolation_level=None)
    try:
        assert conn.execute(sql, params).rowcount == 1
    finally:
        conn.close()


class TestSignedSQLiteStore(TestSQLiteStore):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Callable[[], Store]:
        return lambda: self.make_other(tmp_path / "jobs.db")

    def make_other(self, path: Path) -> SQLiteStore:
        return SQLiteStore(path, secret_key="k" * 32, encrypt=True)


class RedisRawWrites:
    """Tampering hooks: raw writes to the namespace, as anyone who can reach Redis can do."""

    async def overwrite_job(self, store: Store, job_id: str, payload: bytes) -> None:
        """Write the job's stored definition directly, as anyone who can reach Redis can."""
        import redis.asyncio as aioredis

        from aioscheduler.stores.redis import RedisStore

        assert isinstance(store, RedisStore)
        client = aioredis.from_url(REDIS_URL)
        try:
            row = await client.hget(store.key("job"), job_id)
            assert isinstance(row, bytes)
            ver, dver, rest = row.split(b"|", 2)
            await client.hset(store.key("def"), job_id, payload)
            await client.hset(
                store.key("job"), job_id, b"|".join([ver, b"%d" % (int(dver) + 1), rest])
            )
        finally:
            await client.aclose()

    async def append_run(self, store: Store, job_id: str, record: bytes) -> None:
        import redis.asyncio as aioredis

        from aioscheduler.stores.redis import RedisStore

        assert isinstance(store, RedisStore)
        client = aioredis.from_url(REDIS_URL)
        try:
            await client.lpush(store.key(f"h:{job_id}"), record)
        finally:
            await client.aclose()


class TestRedisStore(RedisRawWrites, StoreConformance):
    persistent = True

    @pytest.fixture
    def make_store(self, redis_prefix: str) -> Callable[[], Store]:
        from aioscheduler.stores.redis import RedisStore

        return lambda: RedisStore(REDIS_URL, prefix=redis_prefix, clock="node")

    async def crash(self, store: Store) -> None:
        from aioscheduler.stores.redis import RedisStore

        assert isinstance(store, RedisStore)
        await store._abandon()


class TestSignedRedisStore(TestRedisStore):
    @pytest.fixture
    def make_store(self, redis_prefix: str) -> Callable[[], Store]:
        from aioscheduler.stores.redis import RedisStore

        return lambda: RedisStore(
            REDIS_URL, prefix=redis_prefix, clock="node", secret_key="k" * 32, encrypt=True
        )


class TestRedisStoreShared(RedisRawWrites, SharedStoreConformance):
    @pytest.fixture
    def make_store(self, redis_prefix: str) -> Callable[[], Store]:
        from aioscheduler.stores.redis import RedisStore

        return lambda: RedisStore(REDIS_URL, prefix=redis_prefix, clock="node", lease=30)

    async def crash(self, store: Store) -> None:
        from aioscheduler.stores.redis import RedisStore

        assert isinstance(store, RedisStore)
        await store._abandon()
