"""Fixtures of the dashboard tests: a real uvicorn server, a real Chromium (or a skip)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the dashboard extra is not installed")
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn is not installed")

from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Mount  # noqa: E402

from aioscheduler import Scheduler  # noqa: E402
from aioscheduler.dashboard import Dashboard  # noqa: E402

#: Where Debian's package puts it (``apt-get install chromium``); override for other systems.
CHROMIUM = os.environ.get("AIOSCHEDULER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The screenshots docs/dashboard.md shows: rewritten with ``UPDATE_SCREENSHOTS=1``; otherwise
#: saved under the temporary directory (a plain test run leaves the work tree clean).
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images" / "dashboard"
SCREENSHOTS = (
    DOCS_SCREENSHOTS
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "aioscheduler-dashboard-screenshots"
)


def _missing_browser() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


def require_browser() -> None:
    """Skip without Chromium, except in CI (``CI=true``), where it must be there."""
    reason = _missing_browser()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class Served:
    """A dashboard served by uvicorn: ``url`` is the dashboard's root (mounted at /dash/)."""

    scheduler: Scheduler
    url: str
    server: Any
    app: Any


async def start_server(app: Any, port: int = 0) -> tuple[Any, int, asyncio.Task[None]]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, port, task


async def stop_server(server: Any, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await asyncio.wait_for(task, 20)


def mounted(scheduler: Scheduler, **options: Any) -> Starlette:
    """The dashboard mounted at /dash in a Starlette app whose lifespan runs the scheduler."""
    return Starlette(
        routes=[Mount("/dash", app=Dashboard(scheduler, **options))], lifespan=scheduler.lifespan
    )


@pytest.fixture
def scheduler() -> Scheduler:
    return Scheduler()


@pytest.fixture
async def served(scheduler: Scheduler) -> AsyncIterator[Served]:
    app = mounted(scheduler, live_interval=0.05)
    server, port, task = await start_server(app)
    try:
        yield Served(scheduler, f"http://127.0.0.1:{port}/dash/", server, app)
    finally:
        await stop_server(server, task)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(
        viewport={"width": 1600, "height": 800}, timezone_id="Europe/Berlin", locale="en-GB"
    )
    pg = await context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield pg
    finally:
        await context.close()
    assert errors == [], f"the page raised: {errors}"


async def eventually(predicate: Any, timeout: float = 15.0, message: str = "") -> None:
    """Await ``predicate()`` (sync or async) until it is true; fail after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            pytest.fail(message or f"not true within {timeout} s: {predicate}")
        await asyncio.sleep(0.05)
