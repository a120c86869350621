"""Access to the real Redis for the tests: a unique prefix per test, its keys deleted after.

``AIOSCHEDULER_TEST_REDIS`` (default ``redis://127.0.0.1:6379/0``) says where Redis is. When it
cannot be reached the tests skip, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

REDIS_URL = os.environ.get("AIOSCHEDULER_TEST_REDIS", "redis://127.0.0.1:6379/0")


def unique_prefix() -> str:
    return f"aiosched-test-{uuid.uuid4().hex[:12]}"


async def require_redis() -> None:
    """Skip (or fail in CI) when the test Redis is not reachable."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is required in CI: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()


async def delete_prefix(prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{{{prefix}}}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A fresh key prefix on the test Redis, deleted after the test."""
    await require_redis()
    prefix = unique_prefix()
    yield prefix
    await delete_prefix(prefix)
