"""Real processes on one SQLite file: a kill -9 mid-run, and the one-writer rule."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from aioscheduler._admission import Admission
from aioscheduler.errors import StoreError
from aioscheduler.stores import StoreContext
from aioscheduler.stores.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parents[2]
#: Generous real-time bound for a child process to reach a given point.
DEADLINE = 30.0

pytestmark = pytest.mark.slow


def child(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.stores._child", *args], cwd=ROOT, text=True, **kwargs
    )


def wait_for_file(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not path.exists():
        assert proc.poll() is None, "the child exited before the job started"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


async def test_a_firing_killed_mid_run_runs_again_after_restart(tmp_path: Path) -> None:
    db, marker = tmp_path / "jobs.db", tmp_path / "marker"
    proc = child("crash", str(db), str(marker))
    try:
        wait_for_file(marker, proc)
    finally:
        proc.kill()  # SIGKILL: no cleanup, the claim stays in the file
        proc.wait(DEADLINE)
    assert marker.read_text() == "started\n"

    recover = child("recover", str(db), stdout=subprocess.PIPE)
    out, _ = recover.communicate(timeout=DEADLINE)
    assert recover.returncode == 0
    assert out.split() == ["success", "recovered"]
    assert marker.read_text() == "started\nrerun\n"

    store = SQLiteStore(db)
    allow = Admission(allow=["tests.stores"])  # as the scheduler of _child.py does
    await store.open(StoreContext("check", lambda due: None, admission=allow))
    try:
        job = await store.get_job("crash")
        [run] = job.history
        assert run.attempt == 2, "the store counts the killed attempt"
        assert job.next_run_at is not None and job.next_run_at > run.scheduled_at
    finally:
        await store.close()


async def test_a_second_process_on_the_same_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    holder = child("hold", str(db), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        store = SQLiteStore(db)
        with pytest.raises(StoreError, match=r"already open by another scheduler \(pid \d+"):
            await store.open(StoreContext("second", lambda due: None))
    finally:
        holder.communicate("", timeout=DEADLINE)
    assert holder.returncode == 0
    await store.open(StoreContext("second", lambda due: None))  # free again once it exited
    await store.close()
