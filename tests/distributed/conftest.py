"""The ``shared`` fixture: each test that takes it runs on PostgreSQL and on Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.distributed.backends import Postgres, Redis, Shared
from tests.pg_support import _drop, require_pg
from tests.stores.redis_support import delete_prefix, require_redis, unique_prefix


@pytest.fixture(params=[Postgres, Redis], ids=["pg", "redis"])
async def shared(request: pytest.FixtureRequest) -> AsyncIterator[Shared]:
    """A fresh namespace on the real server (a schema, a key prefix), dropped after the test."""
    if request.param is Postgres:
        await require_pg()
        s: Shared = Postgres(f"t_{unique_prefix()[-12:]}")
        yield s
        await s.close()
        await asyncio.wait_for(_drop(s.ns), 10)
    else:
        await require_redis()
        s = Redis(unique_prefix())
        yield s
        await s.close()
        await delete_prefix(s.ns)
