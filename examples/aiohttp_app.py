"""An aiohttp app with a scheduled job: the scheduler runs for as long as the app serves.

Run it with (``pip install "aioscheduler[aiohttp]"``)::

    python examples/aiohttp_app.py --port 8080   # then, in another shell:
    curl localhost:8080/visits                   # {"visits": 1, "reports": 2, "next_report": "..."}

Each request to ``/visits`` counts a visit; the ``visit-report`` job prints the count every
5 seconds (``visits so far: N``). Ctrl-C stops the app and, with it, the scheduler.
"""

from __future__ import annotations

import argparse

from aiohttp import web

from aioscheduler import Scheduler
from aioscheduler.integrations.aiohttp import SCHEDULER_KEY

VISITS = web.AppKey("visits", list[int])


def create_app(scheduler: Scheduler | None = None) -> web.Application:
    """Build the app around ``scheduler`` (a new one by default; tests pass a FakeClock one)."""
    scheduler = scheduler if scheduler is not None else Scheduler()
    app = web.Application()
    app[VISITS] = [0, 0]  # visits, reports printed

    @scheduler.every(seconds=5, id="visit-report")
    async def report() -> None:
        app[VISITS][1] += 1
        print(f"visits so far: {app[VISITS][0]}", flush=True)

    async def visits(request: web.Request) -> web.Response:
        counts = request.app[VISITS]
        counts[0] += 1
        job = await request.app[SCHEDULER_KEY].get("visit-report")
        return web.json_response(
            {"visits": counts[0], "reports": counts[1], "next_report": str(job.next_run_at)}
        )

    app.router.add_get("/visits", visits)
    app.cleanup_ctx.append(scheduler.aiohttp_context)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    web.run_app(create_app(), port=parser.parse_args().port)
