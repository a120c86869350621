"""The dashboard mounted in aiohttp (through aiohttp-asgi) and in the FastAPI example."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

import httpx
import pytest

from aioscheduler import Every, Scheduler
from aioscheduler.dashboard import Dashboard
from aioscheduler.errors import InvalidDashboard

from .conftest import start_server, stop_server

aiohttp = pytest.importorskip("aiohttp")
pytest.importorskip("aiohttp_asgi")

from aiohttp import web  # noqa: E402

from aioscheduler.dashboard.aiohttp import mount  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def tick() -> None:
    pass


async def test_aiohttp_serves_the_pages_and_the_live_stream() -> None:
    s = Scheduler()
    await s.add(tick, Every(seconds=0.2), id="tick")
    app = web.Application()
    app.cleanup_ctx.append(s.aiohttp_context)
    mount(app, "/scheduler", Dashboard(s, live_interval=0.01))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}/scheduler/"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(base) as page:
                assert page.status == 200
                assert 'data-job-id="tick"' in await page.text()
            async with http.get(base + "static/dashboard.js") as js:
                assert js.status == 200
            events: list[bytes] = []
            async with http.get(base + "events") as stream:
                async with asyncio.timeout(10):
                    async for line in stream.content:
                        if line.startswith(b"event:"):
                            events.append(line.strip())
                        if b"event: update" in events:
                            break
            assert events[0] == b"event: hello"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("path", ["scheduler", "/", "", 5])
def test_aiohttp_mount_checks_its_path(path: object) -> None:
    with pytest.raises(InvalidDashboard, match="path must look like"):
        mount(web.Application(), path, Dashboard(Scheduler()))  # type: ignore[arg-type]


async def test_the_fastapi_example_mounts_the_dashboard() -> None:
    spec = importlib.util.spec_from_file_location("fastapi_app_dash", EXAMPLES / "fastapi_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        server, port, task = await start_server(module.create_app())
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
                page = await c.get("/scheduler/")
                assert page.status_code == 200
                assert 'data-job-id="refresh-prices"' in page.text
                assert (await c.get("/scheduler/timeline")).status_code == 200
                assert (await c.get("/jobs")).status_code == 200  # the app's own routes
        finally:
            await stop_server(server, task)
    finally:
        del sys.modules[spec.name]
