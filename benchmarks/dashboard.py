"""Does the dashboard's live stream keep up with 1,000 firings a second?

    .venv/bin/python benchmarks/dashboard.py [--jobs 1000] [--seconds 10]

Serves a Dashboard with uvicorn (in this process, like an app would) over a scheduler whose
``--jobs`` jobs fire every second, reads ``/events`` with a streaming HTTP client, and compares
what the stream reported with what the scheduler emitted (the baseline: a plain subscriber in
the same run). Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx
import uvicorn

from aioscheduler import Every, Scheduler
from aioscheduler.dashboard import Dashboard
from aioscheduler.events import Event, RunFinished


async def noop() -> None:
    pass


async def main(jobs: int, seconds: float) -> None:
    s = Scheduler()
    for i in range(jobs):
        await s.add(noop, Every(seconds=1), id=f"job-{i:04d}")
    emitted = {"events": 0, "firings": 0}

    def count(event: Event) -> None:
        emitted["events"] += 1
        emitted["firings"] += isinstance(event, RunFinished)

    s.subscribe(count)
    server = uvicorn.Server(
        uvicorn.Config(
            Dashboard(s), host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=1
        )
    )
    serving = asyncio.ensure_future(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    seen = {"events": 0, "messages": 0, "resyncs": 0, "max_ids": 0}

    async def read() -> None:
        async with (
            httpx.AsyncClient(timeout=None) as http,
            http.stream("GET", f"http://127.0.0.1:{port}/events") as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("data:") and '"events"' in line:
                    data = json.loads(line[5:])
                    seen["events"] += data["events"]
                    seen["messages"] += 1
                    seen["resyncs"] += data["resync"]
                    seen["max_ids"] = max(seen["max_ids"], len(data["jobs"]))

    reader = asyncio.ensure_future(read())
    await asyncio.sleep(0.5)
    async with s:
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - t0
        firings = emitted["firings"]
    # the scheduler stopped: how long until the stream has reported every event?
    t1 = time.perf_counter()
    while seen["events"] < emitted["events"] and time.perf_counter() - t1 < 10:
        await asyncio.sleep(0.01)
    catch_up = time.perf_counter() - t1
    reader.cancel()
    server.should_exit = True
    await asyncio.gather(serving, reader, return_exceptions=True)
    rows = [
        ("firings / s (scheduler)", f"{firings / elapsed:,.0f}"),
        ("events emitted (baseline subscriber)", f"{emitted['events']:,}"),
        ("events reported over SSE", f"{seen['events']:,}"),
        ("reported / emitted", f"{seen['events'] / max(emitted['events'], 1):.3f}"),
        ("SSE messages / s", f"{seen['messages'] / elapsed:,.1f}"),
        ("resync requests (fell behind or > 500 ids)", str(seen["resyncs"])),
        ("largest id list in a message", str(seen["max_ids"])),
        ("catch-up after the stop (s)", f"{catch_up:.3f}"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"dashboard live stream: {jobs} jobs every 1 s for {seconds:g} s")
    for k, v in rows:
        print(f"  {k:<{width}}  {v:>10}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.seconds))
