"""A FastAPI app with scheduled jobs: the scheduler runs for as long as the app serves.

Run it with (``pip install "aioscheduler[fastapi]" uvicorn``)::

    uvicorn examples.fastapi_app:app       # then, in another shell:
    curl localhost:8000/jobs               # [{"id": "refresh-prices", "trigger": "every 10 seconds"
    curl localhost:8000/prices             # {"refreshed": 3, "last_refresh": "2026-..."}
    curl -X POST localhost:8000/jobs/refresh-prices/run   # one extra refresh now

and open http://localhost:8000/scheduler/ for the dashboard (``pip install
"aioscheduler[dashboard]"``): the jobs, their runs, a timeline, live.

Every 10 seconds ``refresh-prices`` updates the prices the API serves; at 03:00 UTC the
``nightly-cleanup`` job would run on a worker thread. Ctrl-C stops uvicorn, which stops the
scheduler (running jobs finish first).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, HTTPException, Request

from aioscheduler import Scheduler
from aioscheduler.dashboard import Dashboard
from aioscheduler.errors import JobNotFound


class Prices:
    """What the app serves; the refresh job keeps it current."""

    def __init__(self) -> None:
        self.refreshed = 0
        self.last_refresh: datetime | None = None


def create_app(scheduler: Scheduler | None = None) -> FastAPI:
    """Build the app around ``scheduler`` (a new one by default; tests pass a FakeClock one)."""
    scheduler = scheduler if scheduler is not None else Scheduler()
    prices = Prices()

    @scheduler.every(seconds=10, id="refresh-prices")
    async def refresh_prices() -> None:
        prices.refreshed += 1
        prices.last_refresh = scheduler.clock.now()

    @scheduler.cron("0 3 * * *", id="nightly-cleanup")
    def nightly_cleanup() -> None:  # a plain function: runs on a worker thread
        print("cleaning up", flush=True)

    @asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.prices = prices  # the app's own resources, set up before the first job
        yield

    app = FastAPI(lifespan=scheduler.lifespan.wrap(app_lifespan))
    app.mount("/scheduler", Dashboard(scheduler))  # bound to 127.0.0.1 by uvicorn's default

    @app.get("/jobs")
    async def list_jobs(request: Request) -> list[dict[str, Any]]:
        jobs = await request.app.state.scheduler.jobs()
        return [
            {"id": job.id, "trigger": job.trigger.describe(), "next_run_at": job.next_run_at}
            for job in jobs
        ]

    @app.post("/jobs/{job_id}/run", status_code=202)
    async def run_job(job_id: str, request: Request) -> dict[str, str]:
        try:
            await request.app.state.scheduler.run_now(job_id)
        except JobNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        return {"status": "queued", "at": datetime.now(UTC).isoformat()}

    @app.get("/prices")
    async def get_prices(request: Request) -> dict[str, Any]:
        p: Prices = request.app.state.prices
        return {"refreshed": p.refreshed, "last_refresh": p.last_refresh}

    return app


app = create_app()
