"""examples/fastapi_cluster.py under ``uvicorn --workers 4``, on PostgreSQL and on Redis: each
heartbeat firing recorded once."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.distributed.backends import Shared

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
async def test_four_uvicorn_workers_run_each_heartbeat_once(shared: Shared) -> None:
    pytest.importorskip("uvicorn")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    option = "schema" if shared.kind == "pg" else "prefix"
    env = {**os.environ, "AIOSCHEDULER_STORE": f"{shared.url}?{option}={shared.ns}"}
    cmd = [sys.executable, "-m", "uvicorn", "examples.fastapi_cluster:app", "--workers", "4",
           "--port", str(port), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
    try:
        got = await shared.wait(lambda r: r.finished >= 4, 45)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = await asyncio.to_thread(proc.communicate, timeout=60)
    got = await shared.recorded()
    printed = re.findall(r"^heartbeat (\S+) on (\S+) \(attempt (\d)\)$", out, re.M)
    assert len(printed) >= 4, out
    slots = [p[0] for p in printed]
    assert len(slots) == len(set(slots)), f"a firing ran twice:\n{out}"
    assert all(p[2] == "1" for p in printed)
    assert not got.refused
    if got.rows:
        assert len(printed) == sum(r.done for r in got.rows if r.job_id == "heartbeat")
