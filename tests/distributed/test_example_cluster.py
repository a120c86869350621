"""examples/fastapi_cluster.py under ``uvicorn --workers 4``: each firing recorded once."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.distributed.harness import firings
from tests.pg_support import PG_URL

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
async def test_four_uvicorn_workers_run_each_heartbeat_once(pg_schema: str) -> None:
    pytest.importorskip("uvicorn")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AIOSCHEDULER_STORE": f"{PG_URL}?schema={pg_schema}"}
    cmd = [sys.executable, "-m", "uvicorn", "examples.fastapi_cluster:app", "--workers", "4",
           "--port", str(port), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            rows = await firings(PG_URL, pg_schema) if await _ready(pg_schema) else []
            if sum(r["job_id"] == "heartbeat" and r["done_at"] is not None for r in rows) >= 4:
                break
            await asyncio.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    rows = [r for r in await firings(PG_URL, pg_schema) if r["job_id"] == "heartbeat"]
    assert len(rows) >= 4, out
    printed = re.findall(r"^heartbeat (\S+) on (\S+) \(attempt (\d)\)$", out, re.M)
    slots = [p[0] for p in printed]
    assert len(slots) == len(set(slots)), f"a firing ran twice:\n{out}"
    assert len(printed) == sum(r["done_at"] is not None for r in rows)
    assert all(p[2] == "1" for p in printed)


async def _ready(schema: str) -> bool:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        return bool(
            await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f'"{schema}".firings')
        )
    finally:
        await conn.close()
