"""FastAPI/Starlette: ``FastAPI(lifespan=scheduler.lifespan)`` runs the scheduler while the app
serves, handlers reach it on ``app.state``, and shutdown stops it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from aioscheduler import Scheduler
from aioscheduler.integrations.fastapi import Lifespan
from aioscheduler.testing import FakeClock

from .asgi import lifespan


def make_app(scheduler: Scheduler, app_lifespan: Any = None) -> tuple[FastAPI, list[str]]:
    fired: list[str] = []

    @scheduler.every(seconds=10, id="tick")
    async def tick() -> None:
        fired.append(scheduler.clock.now().isoformat())

    app = FastAPI(
        lifespan=scheduler.lifespan
        if app_lifespan is None
        else scheduler.lifespan.wrap(app_lifespan)
    )

    @app.get("/jobs")
    async def jobs(request: Request) -> list[dict[str, Any]]:
        s: Scheduler = request.app.state.scheduler
        return [
            {"id": j.id, "next": j.next_run_at.isoformat() if j.next_run_at else None}
            for j in await s.jobs()
        ]

    @app.get("/fired")
    async def count() -> int:
        return len(fired)

    return app, fired


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")


async def test_jobs_fire_while_the_app_serves_and_handlers_reach_the_scheduler(
    clock: FakeClock,
) -> None:
    scheduler = Scheduler(clock=clock)
    app, fired = make_app(scheduler)
    async with lifespan(app), client(app) as http:
        assert scheduler.running
        assert app.state.scheduler is scheduler
        listed = (await http.get("/jobs")).json()
        assert listed == [{"id": "tick", "next": "2026-03-02T12:00:10+00:00"}]
        await clock.advance(30)
        assert (await http.get("/fired")).json() == 3
    assert fired == [
        "2026-03-02T12:00:10+00:00",
        "2026-03-02T12:00:20+00:00",
        "2026-03-02T12:00:30+00:00",
    ]
    assert not scheduler.running


async def test_a_job_fires_on_real_time_under_the_app() -> None:
    scheduler = Scheduler()
    ran = asyncio.Event()
    app = FastAPI(lifespan=scheduler.lifespan)
    scheduler.call_later(0.05, ran.set)
    async with lifespan(app):
        await asyncio.wait_for(ran.wait(), 10)  # generous bound
    assert not scheduler.running


async def test_shutdown_waits_for_a_running_job_then_stops(clock: FakeClock) -> None:
    scheduler = Scheduler(clock=clock)
    started, finished = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        started.set()
        await asyncio.sleep(0.05)
        finished.set()

    app = FastAPI(lifespan=scheduler.lifespan)
    async with lifespan(app):
        await scheduler.run_now((await scheduler.add(slow, _every_hour(), id="slow")).id)
        await asyncio.wait_for(started.wait(), 10)
    assert finished.is_set()
    assert not scheduler.running


async def test_the_apps_own_lifespan_wraps_the_scheduler(clock: FakeClock) -> None:
    order: list[str] = []
    scheduler = Scheduler(clock=clock)

    @asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        order.append(f"app up, scheduler running={app.state.scheduler.running}")
        yield {"db": "pool"}
        order.append(f"app down, scheduler running={app.state.scheduler.running}")

    app, _ = make_app(scheduler, app_lifespan)
    async with lifespan(app) as state, client(app) as http:
        assert state == {"db": "pool"}  # the app's lifespan state passes through
        assert (await http.get("/fired")).json() == 0
        assert scheduler.running
    assert order == ["app up, scheduler running=False", "app down, scheduler running=False"]


async def test_jobs_added_by_the_apps_lifespan_wait_for_the_start(clock: FakeClock) -> None:
    scheduler = Scheduler(clock=clock)
    fired: list[int] = []

    @asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[None]:
        await app.state.scheduler.add(fired.append, _every_hour(), args=(1,), id="x")
        yield

    app = FastAPI(lifespan=scheduler.lifespan.wrap(app_lifespan))
    async with lifespan(app):
        await clock.advance(3600)
    assert fired == [1]


async def test_a_failing_app_lifespan_leaves_the_scheduler_stopped(clock: FakeClock) -> None:
    scheduler = Scheduler(clock=clock)

    @asynccontextmanager
    async def broken(app: FastAPI) -> AsyncIterator[None]:
        raise OSError("database unreachable")
        yield  # pragma: no cover

    app = FastAPI(lifespan=scheduler.lifespan.wrap(broken))
    with pytest.raises(RuntimeError, match="database unreachable"):
        async with lifespan(app):
            pass  # pragma: no cover
    assert not scheduler.running


async def test_lifespan_options_are_kept_by_wrap() -> None:
    scheduler = Scheduler()
    base = Lifespan(scheduler, stop_timeout=5, state_name="jobs")

    @asynccontextmanager
    async def inner(app: Any) -> AsyncIterator[None]:
        yield

    wrapped = base.wrap(inner)
    assert (wrapped.scheduler, wrapped.stop_timeout, wrapped.state_name) == (scheduler, 5, "jobs")
    assert wrapped.inner is inner
    assert "wrapping" in repr(wrapped)


def test_lifespan_rejects_bad_arguments() -> None:
    scheduler = Scheduler()
    with pytest.raises(TypeError, match="lifespan callable"):
        Lifespan(scheduler, inner=42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="identifier"):
        Lifespan(scheduler, state_name="not an identifier")


def _every_hour() -> Any:
    from aioscheduler import Every

    return Every(hours=1)
