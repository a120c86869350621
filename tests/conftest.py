"""Shared fixtures: a fake clock at a fixed instant and a scheduler driven by it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from aioscheduler import Scheduler
from aioscheduler.testing import FakeClock
from tests.pg_support import pg_schema as pg_schema

# The conformance suite's asserts live in the package: let pytest explain their failures too.
# Registered here, before any test module (store, CLI, dashboard tests) imports the suite.
pytest.register_assert_rewrite(
    "aioscheduler.testing.conformance",
    "aioscheduler.testing._conformance_base",
    "aioscheduler.testing._conformance_store",
    "aioscheduler.testing._conformance_shared",
)

START = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def scheduler(clock: FakeClock) -> AsyncIterator[Scheduler]:
    s = Scheduler(clock=clock)
    yield s
    await s.stop()


@pytest.fixture
async def running(scheduler: Scheduler) -> AsyncIterator[Scheduler]:
    await scheduler.start()
    yield scheduler
    await scheduler.stop()


from tests.stores.redis_support import redis_prefix  # noqa: E402, F401 - a fixture (Redis tests)
