"""Issue 10 item 1: a job that kills its process is not re-run past its retry budget.

Real processes and a real SIGKILL sent by the job itself (as a segfault or the OOM killer
would end the process): each restart opens the same SQLite file.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from aioscheduler import Outcome
from aioscheduler._admission import Admission
from aioscheduler.stores import StoreContext
from aioscheduler.stores.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0  # generous: a loaded machine

pytestmark = pytest.mark.slow


def start(db: Path, directory: Path, retries: int, mode: str) -> subprocess.CompletedProcess[str]:
    code = "from tests.faults.crashloop_app import run; run()"
    args = [sys.executable, "-c", code, str(db), str(directory), str(retries), mode]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=DEADLINE)


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


@pytest.mark.parametrize("retries", [0, 1])
async def test_a_job_that_kills_its_process_is_lost_after_its_retry_budget(
    tmp_path: Path, retries: int
) -> None:
    db = tmp_path / "jobs.db"
    runs = [start(db, tmp_path, retries, "add")]
    for _ in range(retries + 2):
        runs.append(start(db, tmp_path, retries, "restart"))
    deaths = [r for r in runs if r.returncode == -signal.SIGKILL]
    # attempt 1, then one more per retry: each kills the process; then it is lost
    assert len(deaths) == retries + 1, [(r.returncode, r.stderr[-2000:]) for r in runs]
    assert all(r.returncode == -signal.SIGKILL for r in runs[: retries + 1])
    survivor = runs[retries + 1]
    assert survivor.returncode == 0, survivor.stderr[-2000:]
    assert survivor.stdout.split("\n")[0].startswith(f"lost {retries + 1} lost: the process")
    assert runs[-1].returncode == 0 and "lost" not in runs[-1].stdout, "reported once"
    assert len(lines(tmp_path / "kills")) == retries + 1
    # the healthy job ran in every process, also in those the killer ended
    beat_pids = set(lines(tmp_path / "beats"))
    assert len(beat_pids) == len(runs), "the heartbeat ran in every process, before the killer"

    store = SQLiteStore(db)
    await store.open(StoreContext("check", lambda due: None, admission=Admission(allow=["tests"])))
    try:
        job = await store.get_job("killer")
        [run] = job.history
        assert run.outcome is Outcome.MISSED and run.attempt == retries + 1
        assert run.reason is not None and run.reason.startswith("lost: the process stopped")
        assert job.next_run_at is not None, "its schedule goes on"
    finally:
        await store.close()
