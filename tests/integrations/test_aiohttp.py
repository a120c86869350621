"""aiohttp: ``app.cleanup_ctx.append(scheduler.aiohttp_context)`` runs the scheduler while the
app serves; handlers reach it as ``request.app[SCHEDULER_KEY]``; cleanup stops it."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from aioscheduler import Every, Scheduler
from aioscheduler.integrations.aiohttp import SCHEDULER_KEY, cleanup_context
from aioscheduler.testing import FakeClock


def make_app(scheduler: Scheduler) -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(scheduler.aiohttp_context)

    async def jobs(request: web.Request) -> web.Response:
        s = request.app[SCHEDULER_KEY]
        return web.json_response([job.id for job in await s.jobs()])

    app.router.add_get("/jobs", jobs)
    return app


async def test_jobs_fire_while_the_app_serves(clock: FakeClock) -> None:
    scheduler = Scheduler(clock=clock)
    fired: list[str] = []
    await scheduler.add(lambda: fired.append("x"), Every(minutes=1), id="minutely")
    app = make_app(scheduler)
    async with TestClient(TestServer(app)) as http:
        assert scheduler.running
        response = await http.get("/jobs")
        assert await response.json() == ["minutely"]
        await clock.advance(180)
        assert fired == ["x", "x", "x"]
    assert not scheduler.running


async def test_a_job_fires_on_real_time_under_the_app() -> None:
    scheduler = Scheduler()
    ran = asyncio.Event()
    scheduler.call_later(0.05, ran.set)
    async with TestClient(TestServer(make_app(scheduler))):
        await asyncio.wait_for(ran.wait(), 10)  # generous bound
    assert not scheduler.running


async def test_cleanup_waits_for_running_work_within_the_stop_timeout(clock: FakeClock) -> None:
    scheduler = Scheduler(clock=clock)
    started = asyncio.Event()
    outcome: list[str] = []

    async def forever() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    app = web.Application()
    app.cleanup_ctx.append(lambda app: cleanup_context(scheduler, app, stop_timeout=0.05))
    async with TestClient(TestServer(app)):
        scheduler.call_later(0, forever)
        await clock.advance(0)
        await asyncio.wait_for(started.wait(), 10)
    assert outcome == ["cancelled"]
    assert not scheduler.running
