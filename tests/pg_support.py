"""PostgreSQL for the tests: the machine's server, one throwaway schema per test.

Without a server the tests skip with the reason, except under ``CI=true`` where they fail.
``AIOSCHEDULER_TEST_PG`` overrides the URL (default ``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest

PG_URL = os.environ.get("AIOSCHEDULER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


async def _drop(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def _check() -> str | None:
    try:
        import asyncpg
    except ImportError:
        return "asyncpg is not installed (pip install 'aioscheduler[postgres]')"
    try:
        conn = await asyncpg.connect(PG_URL, timeout=3)
        await conn.close()
    except Exception as exc:
        return f"PostgreSQL at {PG_URL} does not answer: {exc}"
    return None


_problem: list[str | None] = []


async def require_pg() -> None:
    """Skip (fail under CI=true) when the server is not there."""
    if not _problem:
        _problem.append(await _check())
    if _problem[0] is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs PostgreSQL: {_problem[0]}")
        pytest.skip(_problem[0])


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    """A fresh schema name, dropped (with everything in it) after the test."""
    await require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield schema
    await asyncio.wait_for(_drop(schema), 10)
