"""A dashboard over a store that another process writes: read-only, polled, live."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from aioscheduler import Cron, Scheduler
from aioscheduler._admission import Admission
from aioscheduler.dashboard import Dashboard
from aioscheduler.dashboard._readonly import SQLiteReader
from aioscheduler.errors import JobNotFound, StoreError

from .cli_app import stored_job
from .conftest import start_server, stop_server


async def test_a_change_made_elsewhere_reaches_the_page(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    writer = Scheduler(store=url)  # the service: it runs, and holds the file's writer lock
    await writer.add(stored_job, Cron("0 4 * * *"), id="first")
    await writer.start()
    reader = Scheduler(store=SQLiteReader.from_url(url))  # never started: only reads
    server, port, task = await start_server(Dashboard(reader, read_only=True, poll=0.1))
    try:
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
            http.stream("GET", "/events") as stream,
        ):
            lines = stream.aiter_lines()
            async with asyncio.timeout(20):
                async for line in lines:  # the hello, then the first poll sets the baseline
                    if line == "event: hello":
                        break
                await asyncio.sleep(0.5)
                await writer.add(stored_job, Cron("0 5 * * *"), id="second")
                async for line in lines:
                    if line.startswith("data:") and json.loads(line[5:]).get("resync"):
                        break
            page = await http.get("/")
            assert 'data-job-id="second"' in page.text
    finally:
        await stop_server(server, task)
        await writer.stop()
        await reader.store.close()


async def test_the_reader_refuses_writes_and_a_missing_file(tmp_path: Path) -> None:
    reader = Scheduler(store=SQLiteReader(str(tmp_path / "typo.db")))
    with pytest.raises(StoreError, match="does not exist"):
        await reader.jobs()
    assert not (tmp_path / "typo.db").exists()  # never created
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    writer = Scheduler(store=url)
    await writer.add(stored_job, Cron("0 4 * * *"), id="only")
    await writer.stop()
    reader = Scheduler(store=SQLiteReader.from_url(url))
    job = await reader.get("only")
    assert job.func.__qualname__ == "stored_job"
    assert job.func.__module__ == "tests.dashboard.cli_app"
    with pytest.raises(StoreError, match="read-only"):
        await reader.pause("only")
    with pytest.raises(JobNotFound):
        await reader.get("other")
    await reader.store.close()


async def test_rows_naming_code_outside_allow_are_listed_as_broken(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    writer = Scheduler(store=url)
    await writer.add(stored_job, Cron("0 4 * * *"), id="<i>nightly</i>")
    await writer.stop()
    reader = Scheduler(store=SQLiteReader.from_url(url, Admission(["somewhere.else"])))
    server, port, task = await start_server(Dashboard(reader, read_only=True))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            page = (await http.get("/")).text
    finally:
        await stop_server(server, task)
        await reader.store.close()
    assert "data-job-id=" not in page
    assert "Broken jobs (1)" in page
    assert "<code>&lt;i&gt;nightly&lt;/i&gt;</code>: RefusedReference" in page
