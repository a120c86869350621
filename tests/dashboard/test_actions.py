"""The dashboard's filters, live fragment and every action, through the ASGI app (httpx)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from aioscheduler import Every, Scheduler
from aioscheduler.dashboard import Dashboard
from aioscheduler.testing import FakeClock

from .conftest import mounted

SCRIPTED = {"x-requested-with": "aioscheduler-dashboard"}
RUNS: list[str] = []


async def tick() -> None:
    RUNS.append("tick")


async def tock() -> None:
    pass


@pytest.fixture
async def app(clock: FakeClock) -> AsyncIterator[Any]:
    RUNS.clear()
    s = Scheduler(clock=clock)
    await s.add(tick, Every(minutes=5), id="tick")
    await s.add(tock, Every(minutes=7), id="tock", paused=True)
    yield mounted(s)
    await s.stop()


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8765"
    )


def dashboard_of(app: Any) -> Dashboard:
    dashboard = app.routes[0].app
    assert isinstance(dashboard, Dashboard)
    return dashboard


async def test_without_the_script_the_server_filters_by_state_and_text(app: Any) -> None:
    async with client(app) as c:
        paused = (await c.get("/dash/", params={"state": "paused"})).text
        searched = (await c.get("/dash/", params={"q": "TICK"})).text
    assert 'data-job-id="tock"' in paused and 'data-job-id="tick"' not in paused
    assert 'data-job-id="tick"' in searched and 'data-job-id="tock"' not in searched


async def test_the_live_fragment_of_a_job_has_its_actions_unless_read_only(
    clock: FakeClock,
) -> None:
    s = Scheduler(clock=clock)
    await s.add(tick, Every(minutes=5), id="tick")
    try:
        async with client(mounted(s)) as c:
            live = (await c.get("/dash/jobs/tick", params={"fragment": "live"})).text
        async with client(mounted(s, read_only=True)) as c:
            quiet = (await c.get("/dash/jobs/tick", params={"fragment": "live"})).text
    finally:
        await s.stop()
    assert "<html" not in live and "<button" in live
    assert "<button" not in quiet


@pytest.mark.parametrize(
    ("action", "check"),
    [
        pytest.param("resume", lambda job: not job.paused, id="resume"),
        pytest.param("pause", lambda job: job.paused, id="pause"),
    ],
)
async def test_a_scripted_action_answers_json(app: Any, action: str, check: Any) -> None:
    scheduler = dashboard_of(app).scheduler
    data = {"csrf": dashboard_of(app).csrf_token, "job_id": "tock", "action": action}
    async with client(app) as c:
        response = await c.post("/dash/action", data=data, headers=SCRIPTED)
    assert response.json() == {"ok": True, "action": action, "job_id": "tock"}
    assert check(await scheduler.get("tock"))


async def test_run_now_and_a_confirmed_remove(app: Any, clock: FakeClock) -> None:
    scheduler = dashboard_of(app).scheduler
    csrf = dashboard_of(app).csrf_token
    async with client(app) as c:
        await scheduler.start()
        ran = await c.post("/dash/action", data={"csrf": csrf, "job_id": "tick", "action": "run"})
        await clock.advance(0)
        removed = await c.post(
            "/dash/action",
            data={"csrf": csrf, "job_id": "tock", "action": "remove", "confirmed": "yes"},
        )
    assert (ran.status_code, removed.status_code) == (303, 303)
    assert RUNS == ["tick"]
    assert [job.id for job in await scheduler.jobs()] == ["tick"]


async def test_a_body_too_large_or_of_the_wrong_type_is_refused(app: Any) -> None:
    csrf = dashboard_of(app).csrf_token
    async with client(app) as c:
        large = await c.post(
            "/dash/action", content=b"x" * 100_000, headers={"x-csrf-token": csrf, **SCRIPTED}
        )
        json_body = await c.post(
            "/dash/action", json={"action": "pause"}, headers={"x-csrf-token": csrf, **SCRIPTED}
        )
    assert large.status_code == 413 and large.json()["error"] == "request too large"
    assert json_body.status_code == 415


def test_a_dashboard_says_what_it_shows(clock: FakeClock) -> None:
    s = Scheduler(clock=clock)
    assert repr(Dashboard(s, read_only=True)) == f"<Dashboard of {s!r} read-only>"
    assert repr(Dashboard(s)) == f"<Dashboard of {s!r}>"
