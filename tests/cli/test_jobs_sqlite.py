"""``aioscheduler jobs`` on a SQLite store: read-only, beside a running scheduler, without
importing the jobs' modules; every store problem is one line and a non-zero exit (issue 9)."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from aioscheduler import Cron, Every, Scheduler
from aioscheduler.testing import FakeClock

from .. import fc_support
from .proc import run

pytestmark = pytest.mark.slow

JOBS = """
from pathlib import Path

Path("imported").write_text("the jobs module was imported")


def work() -> None: ...
"""


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("aioscheduler jobs: error: ")
    assert "Traceback" not in proc.stderr
    return lines[0]


async def test_lists_a_store_a_running_scheduler_holds_without_importing_its_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "sqlite_jobs_mod.py").write_text(JOBS)
    monkeypatch.chdir(app)
    monkeypatch.syspath_prepend(str(app))
    import sqlite_jobs_mod  # type: ignore[import-not-found]

    (app / "imported").unlink()
    db = app / "jobs.db"
    scheduler = Scheduler(store=f"sqlite:///{db}", clock=FakeClock())
    await scheduler.add(sqlite_jobs_mod.work, Every(minutes=5), id="work")
    await scheduler.add(sqlite_jobs_mod.work, Cron("0 9 * * *"), id="daily", paused=True)
    async with scheduler:  # holds the file's writer lock while we list
        await scheduler.clock.advance(300)  # type: ignore[attr-defined]
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        url = f"sqlite:///{db}"
        refused = run("jobs", "--store", url, cwd=elsewhere)  # no --allow: the strict default
        proc = run(
            "jobs", "--store", url, "--timezone", "UTC", "--allow", "sqlite_jobs_mod", cwd=elsewhere
        )
    assert refused.returncode == 0, refused.stderr
    assert refused.stdout.startswith("no jobs\n\n2 broken jobs (cannot be loaded):")
    assert "RefusedReference" in refused.stdout
    assert refused.stdout.count("to list it here: aioscheduler jobs --allow MODULE") == 2
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[2:]}
    assert set(rows) == {"work", "daily"}
    assert Every(minutes=5).describe() in rows["work"]
    assert rows["work"].rstrip().endswith("success")
    assert "2026-01-01 00:10:00 UTC" in rows["work"]
    assert rows["daily"].rstrip().endswith("yes     -")
    assert "broken" not in proc.stdout
    assert not (app / "imported").exists()
    assert not (elsewhere / "imported").exists()


def test_a_mistyped_path_creates_nothing(tmp_path: Path) -> None:
    proc = run("jobs", "--store", "sqlite:///jbos.db", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no SQLite store at 'jbos.db': the file does not exist" in one_line_error(proc)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    proc = run("jobs", "--store", "sqlite:///nowhere/jobs.db", cwd=tmp_path)
    assert proc.returncode == 2
    assert "directory 'nowhere' does not exist" in one_line_error(proc)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("shopping list\n" * 100)
    proc = run("jobs", "--store", "sqlite:///notes.db", cwd=tmp_path)
    assert proc.returncode == 1
    assert "'notes.db' is not an SQLite database" in one_line_error(proc)


def test_another_applications_database_is_one_line(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "other.db")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    proc = run("jobs", "--store", "sqlite:///other.db", cwd=tmp_path)
    assert proc.returncode == 1
    assert "not an aioscheduler store" in one_line_error(proc)


def test_naming_a_job_function_never_runs_it() -> None:
    proc = run("jobs", "tests.cli.apps:send_digest")
    assert proc.returncode == 2
    assert "digest sent" not in proc.stdout
    assert "pass --factory" in one_line_error(proc)


async def test_a_row_rewritten_to_run_other_code_is_listed_as_refused(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    scheduler = Scheduler(store=f"sqlite:///{db}", clock=FakeClock())
    await scheduler.add(fc_support.tick_sync, Every(minutes=5), id="work")
    await scheduler.stop()
    conn = sqlite3.connect(db)
    (payload,) = conn.execute("SELECT payload FROM jobs WHERE id = 'work'").fetchone()
    forged = bytes(payload).replace(b"tests.fc_support:tick_sync", b"os:system")
    conn.execute("UPDATE jobs SET payload = ? WHERE id = 'work'", (forged,))
    conn.commit()
    conn.close()
    proc = run("jobs", "--store", f"sqlite:///{db}", "--allow", "tests.fc_support", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("no jobs\n\n1 broken job (cannot be loaded):")
    assert "'os:system'" in proc.stdout and "RefusedReference" in proc.stdout
