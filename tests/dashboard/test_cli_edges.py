"""``aioscheduler dashboard`` beyond the usual cases: a target scheduler on SQLite is read beside
its service (read-only, without taking the file's writer lock), and a port already taken is an
error with exit status 1 (the real command in a subprocess; the latter is a known bug, marked
xfail)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx

from aioscheduler import Cron, Scheduler

from .cli_app import stored_job
from .test_cli import ROOT, Command


async def test_a_target_on_sqlite_is_served_read_only_beside_its_service(
    tmp_path: Path,
) -> None:
    db = tmp_path / "jobs.db"
    service = Scheduler(store=f"sqlite:///{db}")
    await service.add(stored_job, Cron("0 4 * * *"), id="nightly")
    await service.start()  # holds the writer lock: the dashboard must only read
    c = Command(
        "tests.dashboard.sqlite_cli_app", "--port", "0", extra_env={"AIOSCHEDULER_TEST_DB": str(db)}
    )
    try:
        url = c.url()
        assert "read-only" in c.lines[-1]
        async with httpx.AsyncClient(base_url=url) as http:
            jobs = (await http.get("/api/jobs")).json()
            assert [job["id"] for job in jobs] == ["nightly"]
            refused = await http.post("/action", data={"action": "pause", "job_id": "nightly"})
            assert refused.status_code == 403
    finally:
        assert c.stop() == 0
        await service.stop()
    assert not (await service.get("nightly")).paused


def test_a_port_already_taken_is_an_error_with_exit_status_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port_args = ["--port", str(taken.getsockname()[1])]
        result = subprocess.run(
            [sys.executable, "-m", "aioscheduler", "dashboard", "--store", "memory://", *port_args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    assert result.returncode == 1, result.stderr
    assert "aioscheduler dashboard: error: the server did not start" in result.stderr
    assert "on http://" not in result.stdout
    assert "Traceback" not in result.stderr
