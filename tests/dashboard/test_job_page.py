"""A job's page shows its history: every run, its outcome and reason, and a failure's traceback
(httpx + ASGI, FakeClock: the runs happen at exact times)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from aioscheduler import Every, Scheduler
from aioscheduler.testing import FakeClock

from .conftest import mounted

CALLS: list[int] = []


async def flaky() -> None:
    CALLS.append(1)
    if len(CALLS) % 2 == 0:
        raise LookupError("every second call fails")


@pytest.fixture
async def ran(clock: FakeClock) -> AsyncIterator[Scheduler]:
    CALLS.clear()
    s = Scheduler(clock=clock)
    await s.add(flaky, Every(seconds=10), id="flaky")
    await s.start()
    await clock.advance(35)  # runs at 10, 20, 30: success, error, success
    yield s
    await s.stop()


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8765"
    )


async def test_the_history_lists_every_run_newest_first_with_the_failure_traceback(
    ran: Scheduler,
) -> None:
    async with client(mounted(ran)) as c:
        html = (await c.get("/dash/jobs/flaky")).text
    history = html[html.index('<table class="history">') :]
    assert history.count('<tr class="run ') == 3
    outcomes = [part.split('"')[0] for part in history.split('<tr class="run ')[1:]]
    assert outcomes == ["success", "error", "success"]
    assert history.count('<tr class="traceback">') == 1
    assert "LookupError: every second call fails" in history
    assert "in flaky" in history, "the job's own frame is shown"


async def test_a_job_without_a_finished_run_says_so(clock: FakeClock) -> None:
    s = Scheduler(clock=clock)
    await s.add(flaky, Every(seconds=10), id="fresh")
    try:
        async with client(mounted(s)) as c:
            html = (await c.get("/dash/jobs/fresh")).text
        assert "No finished run yet." in html
    finally:
        await s.stop()
