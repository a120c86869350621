"""``aioscheduler jobs --store redis://...``: jobs, next times, leases and owners of a live
shared store, listed without importing the jobs' modules."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from aioscheduler import Scheduler
from aioscheduler._values import JobOptions, JobSpec
from aioscheduler.stores.redis import RedisStore
from aioscheduler.triggers import Every
from tests.stores.redis_support import REDIS_URL

from .proc import env

pytestmark = pytest.mark.slow

JOBS_MODULE = """
import asyncio

from aioscheduler import Cron, Every, Scheduler


async def work() -> None:
    await asyncio.sleep(30)


async def main(url: str) -> None:
    scheduler = Scheduler(store=url)
    await scheduler.add(work, Every(minutes=5), id="work")
    await scheduler.add(work, Cron("0 9 * * mon-fri"), id="digest", paused=True)
    await scheduler.store.close()
"""


async def test_lists_jobs_and_running_firings_without_the_jobs_module(
    redis_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"{REDIS_URL}?prefix={redis_prefix}"
    (tmp_path / "jobsmod.py").write_text(JOBS_MODULE)
    setup = [sys.executable, "-c", f"import asyncio, jobsmod; asyncio.run(jobsmod.main({url!r}))"]
    await asyncio.to_thread(subprocess.run, setup, cwd=tmp_path, check=True, timeout=60)
    monkeypatch.syspath_prepend(str(tmp_path))
    # a node holds a lease on a firing of "work" right now
    node = RedisStore(url, clock="node")
    scheduler = Scheduler(store=node, node_name="node-7", allow=["jobsmod"])
    await scheduler.open_store()
    job = await node.get_job("work")
    [claim] = await node.acquire_due(job.next_run_at.timestamp(), 10)  # type: ignore[union-attr]
    (tmp_path / "jobsmod.py").unlink()  # the jobs' function can no longer be imported
    try:
        listed = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "aioscheduler", "jobs", "--store", url, "--timezone", "UTC",
             "--allow", "jobsmod"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env(),
        )  # fmt: skip
    finally:
        await node.close()
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "CALLABLE", "TRIGGER"]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert set(rows) == {"work", "digest"}
    assert "jobsmod:work" in rows["work"] and "every 5 minutes" in rows["work"]
    assert "node-7 (1, " in rows["work"], "the node running it, its attempt and lease left"
    assert " yes " in rows["digest"] and rows["digest"].rstrip().endswith("-")
    assert claim.owner is not None and claim.owner.startswith("node-7")


def test_spec_without_import_path_is_refused_at_the_door() -> None:
    store = RedisStore(REDIS_URL)
    spec = JobSpec("x", lambda: None, Every(seconds=1), (), {}, JobOptions())
    with pytest.raises(Exception, match=r"lambda|import"):
        store.check_spec(spec)
