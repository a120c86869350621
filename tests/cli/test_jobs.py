"""``aioscheduler jobs``: a table of id, trigger, next run (local and UTC), paused, last outcome."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aioscheduler import Every, Scheduler
from aioscheduler.cli.jobs import list_jobs
from aioscheduler.testing import FakeClock

from .proc import env, run

pytestmark = pytest.mark.slow


def test_lists_declared_jobs_as_a_table() -> None:
    proc = run("jobs", "tests.cli.apps:scheduler", "--timezone", "Europe/Berlin")
    assert proc.returncode == 0, proc.stderr
    header, rule, *rows = proc.stdout.splitlines()
    assert re.split(r"\s{2,}", header) == [
        "ID", "TRIGGER", "NEXT RUN (LOCAL)", "NEXT RUN (UTC)", "PAUSED", "LAST OUTCOME",
    ]  # fmt: skip
    assert set(rule) == {"-", " "}
    cells = {row.split()[0]: re.split(r"\s{2,}", row) for row in rows}
    assert cells["fast"][1:2] == ["every 0.05 seconds"]
    assert cells["fast"][4:] == ["no", "-"]
    digest = cells["digest"]
    assert digest[1] == "at 09:00 on Monday through Friday (Europe/Berlin)"
    assert digest[2] == "-" and digest[4] == "yes"  # paused: no next run


def test_the_local_column_uses_the_given_zone() -> None:
    proc = run(
        "jobs", "tests.cli.apps:make_scheduler_async", "--factory", "--timezone", "Asia/Tokyo"
    )
    assert proc.returncode == 0, proc.stderr
    row = proc.stdout.splitlines()[2]
    assert row.startswith("made-async")
    assert " JST " in row and " UTC " in row


async def test_shows_the_last_outcome_and_next_run_in_both_zones() -> None:
    clock = FakeClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    scheduler = Scheduler(clock=clock)
    await scheduler.add(lambda: None, Every(minutes=5), id="five")
    async with scheduler:
        await clock.advance(300)
    text = await _list(scheduler)
    row = text.splitlines()[2]
    assert "Mon 2026-03-02 13:10:00 CET" in row
    assert "2026-03-02 12:10:00 UTC" in row
    assert row.endswith("success")


async def test_lists_broken_jobs_a_store_reports() -> None:
    scheduler = Scheduler()

    async def broken_jobs() -> list[tuple[str, str]]:
        return [("old-report", "cannot import 'reports.old'")]

    scheduler.store.broken_jobs = broken_jobs  # type: ignore[attr-defined]
    text = await _list(scheduler)
    assert text.splitlines() == [
        "no jobs",
        "",
        "1 broken job (cannot be loaded):",
        "  old-report: cannot import 'reports.old'",
    ]


async def _list(scheduler: Scheduler) -> str:
    import sys
    import types

    module = types.ModuleType("_cli_jobs_target")
    module.scheduler = scheduler  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        from zoneinfo import ZoneInfo

        return await list_jobs(f"{module.__name__}:scheduler", None, ZoneInfo("Europe/Berlin"))
    finally:
        del sys.modules[module.__name__]


def test_a_store_url_is_read() -> None:
    proc = run("jobs", "--store", "memory://")
    assert (proc.returncode, proc.stdout.strip()) == (0, "no jobs")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--store", "nosql://x"], "unknown store URL scheme 'nosql'"),
        (["--store", "nothing"], "must look like 'scheme://...'"),
        (["no_such_module:scheduler"], "cannot import 'no_such_module'"),
    ],
    ids=["scheme", "url", "module"],
)
def test_bad_sources_exit_2_with_one_line(args: list[str], message: str) -> None:
    proc = run("jobs", *args)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and message in proc.stderr


def test_a_target_and_a_store_together_are_refused() -> None:
    proc = run("jobs", "tests.cli.apps:scheduler", "--store", "memory://")
    assert proc.returncode == 2
    assert "not allowed with argument" in proc.stderr


JOBS_MODULE = """
import asyncio
import sys

from aioscheduler import Cron, Every, Scheduler


def work() -> None: ...


async def main(url: str) -> None:
    scheduler = Scheduler(store=url)
    await scheduler.add(work, Every(minutes=5), id="work")
    await scheduler.add(work, Cron("0 9 * * mon-fri"), id="digest", paused=True)
    await scheduler.store.close()
"""


def test_the_installed_script_lists_a_sqlite_store_without_its_jobs_module(tmp_path: Path) -> None:
    pytest.importorskip("aioscheduler.stores.sqlite")
    script = Path(sys.executable).with_name("aioscheduler")
    if not script.exists():
        pytest.skip("the aioscheduler script is not installed (pip install -e .)")
    (tmp_path / "jobsmod.py").write_text(JOBS_MODULE)
    url = "sqlite:///jobs.db"
    setup = [sys.executable, "-c", f"import asyncio, jobsmod; asyncio.run(jobsmod.main({url!r}))"]
    subprocess.run(setup, cwd=tmp_path, check=True, timeout=60)

    def jobs(*allow: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), "jobs", "--store", url, "--timezone", "UTC", *allow],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env(),
        )  # fmt: skip

    refused = jobs()  # no key, no --allow: listed as refused, and jobsmod is never imported
    assert refused.returncode == 0, refused.stderr
    assert "2 broken jobs (cannot be loaded):" in refused.stdout
    assert "RefusedReference" in refused.stdout and "'jobsmod:" in refused.stdout

    listed = jobs("--allow", "jobsmod")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[2:]}
    assert set(rows) == {"work", "digest"}
    assert "every 5 minutes" in rows["work"] and rows["digest"].rstrip().endswith("yes     -")

    (tmp_path / "jobsmod.py").unlink()  # listing never imports the jobs' module
    relisted = jobs("--allow", "jobsmod")
    assert relisted.returncode == 0, relisted.stderr
    assert relisted.stdout == listed.stdout


def test_a_signed_store_is_listed_with_the_key_from_the_environment(tmp_path: Path) -> None:
    # issue 10 item 10: `aioscheduler jobs --store` could not read a signed store
    db = tmp_path / "signed.db"
    key = "k" * 40
    code = (
        "import asyncio, json\n"
        "from aioscheduler import Every, Scheduler\n"
        "from aioscheduler.stores.sqlite import SQLiteStore\n"
        "async def main():\n"
        f"    s = Scheduler(store=SQLiteStore({str(db)!r}, secret_key={key!r}))\n"
        "    await s.add(json.dumps, Every(hours=1), id='signed-job', args=(1,))\n"
        "    await s.store.close()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, timeout=60)
    store = f"sqlite:///{db}"
    without = run("jobs", "--store", store, "--allow", "json")
    assert without.returncode == 0, without.stderr
    assert "signed-job" not in without.stdout.split("broken")[0], "no key: not listed as a job"
    proc = subprocess.run(
        [sys.executable, "-m", "aioscheduler", "jobs", "--store", store, "--secret-key-env",
         "JOBS_KEY"],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2],
        env={**env(), "JOBS_KEY": key},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[2].startswith("signed-job"), proc.stdout
    assert "broken" not in proc.stdout
    missing = run("jobs", "--store", store, "--secret-key-env", "NO_SUCH_VARIABLE_X")
    assert missing.returncode != 0
    assert "NO_SUCH_VARIABLE_X is not set" in missing.stderr
