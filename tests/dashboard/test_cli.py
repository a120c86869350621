"""``aioscheduler dashboard``: the real command in a subprocess, read over HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aioscheduler import Cron, Scheduler

from .cli_app import stored_job

ROOT = Path(__file__).resolve().parents[2]
URL = re.compile(r"on (http://\S+/) ")


class Command:
    def __init__(self, *args: str, extra_env: dict[str, str] | None = None) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aioscheduler", "dashboard", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=env,
        )
        self.lines: list[str] = []

    def url(self, timeout: float = 30) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip())
            match = URL.search(line)
            if match:
                return match.group(1)
        raise AssertionError("no URL printed; got:\n" + "\n".join(self.lines))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            assert self.proc.stdout is not None
            if not self.proc.stdout.closed:
                self.lines += self.proc.stdout.read().splitlines()
                self.proc.stdout.close()


@pytest.fixture
def command() -> Iterator[list[Command]]:
    started: list[Command] = []
    yield started
    for c in started:
        c.stop()


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    s = Scheduler(store=url)
    await s.add(stored_job, Cron("0 4 * * *"), id="nightly-<b>export</b>")
    await s.stop()
    return url


async def test_serves_a_store_read_only(sqlite_url: str, command: list[Command]) -> None:
    service = Scheduler(store=sqlite_url)
    await service.start()  # the service runs next to the dashboard, holding the writer lock
    c = Command("--store", sqlite_url, "--port", "0")
    command.append(c)
    url = c.url()
    assert url.startswith("http://127.0.0.1:")
    assert "read-only" in c.lines[-1]
    async with httpx.AsyncClient(base_url=url) as http:
        page = await http.get("/")
        assert page.status_code == 200
        assert 'data-job-id="nightly-&lt;b&gt;export&lt;/b&gt;"' in page.text
        assert "at 04:00" in page.text
        assert "<button" not in page.text.replace("<noscript><button", "")
        refused = await http.post("/action", data={"action": "pause", "job_id": "x"})
        assert refused.status_code == 403
        job_page = await http.get("/jobs/nightly-%3Cb%3Eexport%3C%2Fb%3E")
        assert "tests.dashboard.cli_app.stored_job" in job_page.text
    assert c.stop() == 0
    await service.stop()


async def test_serves_a_module_scheduler_that_runs_here(command: list[Command]) -> None:
    c = Command("tests.dashboard.cli_app", "--port", "0")
    command.append(c)
    url = c.url()
    async with httpx.AsyncClient(base_url=url) as http:
        deadline = time.monotonic() + 30
        while True:  # the scheduler runs in the dashboard's process: the job fires
            jobs = (await http.get("/api/jobs")).json()
            if jobs[0]["last_outcome"] == "success" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert jobs[0]["id"] == "heartbeat" and jobs[0]["last_outcome"] == "success"
        assert "<button" in (await http.get("/")).text
    assert c.stop() == 0


def test_another_bind_without_a_token_is_refused() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "aioscheduler",
            "dashboard",
            "--store",
            "memory://",
            "--host",
            "0.0.0.0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "AIOSCHEDULER_DASHBOARD_TOKEN"},
    )
    assert result.returncode == 2
    assert "--host 0.0.0.0 can be reached from other machines: give --token" in result.stderr


async def test_another_bind_with_a_token_from_the_environment(
    sqlite_url: str, command: list[Command]
) -> None:
    token = "env-token-abcdefghijklmnop"
    c = Command(
        "--store",
        sqlite_url,
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        extra_env={"AIOSCHEDULER_DASHBOARD_TOKEN": token},
    )
    command.append(c)
    url = c.url().replace("0.0.0.0", "127.0.0.1")
    async with httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/")).status_code == 401
        ok = await http.get("/", headers={"authorization": f"Bearer {token}"})
        assert ok.status_code == 200
    assert c.stop() == 0
