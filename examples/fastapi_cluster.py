"""Many workers, one schedule: a FastAPI app under ``uvicorn --workers 4`` on PostgreSQL or Redis.

Run it with (``pip install "aioscheduler[postgres,fastapi]" uvicorn``, or ``[redis,fastapi]``)::

    export AIOSCHEDULER_STORE="postgresql://postgres@127.0.0.1:5432/test?schema=example"
    # or: export AIOSCHEDULER_STORE="redis://127.0.0.1:6379/0?prefix=example"
    uvicorn examples.fastapi_cluster:app --workers 4      # then, in another shell:
    curl localhost:8000/jobs        # [{"id": "heartbeat", "next_run_at": ..., ...}]
    aioscheduler jobs --store "$AIOSCHEDULER_STORE"       # jobs, and which worker runs what

Every worker process runs a scheduler on the same store. Each firing of ``heartbeat`` (every
2 seconds) is claimed by exactly one worker, whichever is free, and recorded once; each line it
prints names the worker that ran it. Kill a worker (``kill -9``) while ``report`` runs and
another worker runs it again within one lease (10 s here), with its attempt counted up. Ctrl-C
stops every worker; their leases are released, so nothing waits for them to expire.
"""

from __future__ import annotations

import asyncio
import os
import sys

from fastapi import FastAPI, Request

import aioscheduler
from aioscheduler import Scheduler, current_run

STORE = os.environ.get(
    "AIOSCHEDULER_STORE", "postgresql://postgres@127.0.0.1:5432/test?schema=example"
)


@aioscheduler.every(seconds=2, id="heartbeat")
async def heartbeat() -> None:
    """Runs once per slot across all workers."""
    run = current_run()
    assert run is not None
    print(
        f"heartbeat {run.scheduled_at:%H:%M:%S} on {run.node} (attempt {run.attempt})", flush=True
    )


@aioscheduler.every(minutes=1, id="report", overlap="skip")
async def report() -> None:
    """A slower job: if its worker dies mid-run, another worker runs it again."""
    await asyncio.sleep(5)


def create_app(store: str = STORE) -> FastAPI:
    """One scheduler per worker process, all on ``store`` (lease 10 s, schema in the URL)."""
    scheduler = Scheduler(store=f"{store}&lease=10" if "?" in store else f"{store}?lease=10")
    scheduler.include(sys.modules[__name__])  # every worker declares the same jobs: added once
    app = FastAPI(lifespan=scheduler.lifespan)

    @app.get("/jobs")
    async def jobs(request: Request) -> list[dict[str, object]]:
        s: Scheduler = request.app.state.scheduler
        return [
            {"id": j.id, "next_run_at": j.next_run_at, "last_node": j.last_run and j.last_run.node}
            for j in await s.jobs()
        ]

    return app


app = create_app()
