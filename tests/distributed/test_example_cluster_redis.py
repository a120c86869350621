"""examples/fastapi_cluster.py under ``uvicorn --workers 4`` on Redis: each heartbeat once."""

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
import redis.asyncio as aioredis

from tests.stores.redis_support import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
async def test_four_uvicorn_workers_on_redis_run_each_heartbeat_once(redis_prefix: str) -> None:
    pytest.importorskip("uvicorn")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AIOSCHEDULER_STORE": f"{REDIS_URL}?prefix={redis_prefix}"}
    cmd = [sys.executable, "-m", "uvicorn", "examples.fastapi_cluster:app", "--workers", "4",
           "--port", str(port), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
    client = aioredis.from_url(REDIS_URL)
    try:
        for _ in range(150):
            finished = int(await client.hget(f"{{{redis_prefix}}}:stats", "finished") or 0)
            if finished >= 4:
                break
            await asyncio.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = await asyncio.to_thread(proc.communicate, timeout=60)
        stats = await client.hgetall(f"{{{redis_prefix}}}:stats")
        await client.aclose()
    printed = re.findall(r"^heartbeat (\S+) on (\S+) \(attempt (\d)\)$", out, re.M)
    assert len(printed) >= 4, out
    slots = [p[0] for p in printed]
    assert len(slots) == len(set(slots)), f"a firing ran twice:\n{out}"
    assert all(p[2] == "1" for p in printed)
    assert int(stats.get(b"refused", 0)) == 0
