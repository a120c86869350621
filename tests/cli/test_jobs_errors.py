"""``aioscheduler jobs`` when the store cannot be built or read: one line, exit status 2 for a
mistake on the command line, 1 for a store that does not answer; and the stores a target
scheduler may hold (SQLite, PostgreSQL) listed through that scheduler."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import pytest

from aioscheduler import Every, Scheduler
from aioscheduler.cli import main
from aioscheduler.cli._target import UsageError
from aioscheduler.cli.jobs import list_jobs
from aioscheduler.stores.postgres import PostgresStore
from aioscheduler.stores.sqlite import SQLiteStore
from tests.pg_support import PG_URL

UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:1/test?timeout=1"


def work() -> None:
    pass


@pytest.fixture
def target() -> Iterator[types.ModuleType]:
    """A module the CLI imports its target scheduler from (``_cli_jobs_errors:scheduler``)."""
    module = types.ModuleType("_cli_jobs_errors")
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


@pytest.mark.parametrize(
    ("url", "code", "message"),
    [
        ("postgresql://h/db?lease=-1", 2, "-1"),
        ("sqlite://jobs.db", 2, "SQLite store URL must look like 'sqlite:///relative.db'"),
        (UNREACHABLE_PG, 1, "cannot list the jobs of PostgresStore"),
    ],
    ids=["bad-option", "sqlite-url", "unreachable"],
)
async def test_a_store_url_that_cannot_be_read_is_one_usage_error(
    url: str, code: int, message: str
) -> None:
    with pytest.raises(UsageError) as info:
        await list_jobs(None, url, None)
    assert info.value.exit_code == code
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_the_command_prints_the_error_on_one_line_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["jobs", "--store", UNREACHABLE_PG]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("aioscheduler jobs: error: cannot list the jobs of PostgresStore")
    assert err.count("\n") == 1


async def test_a_target_on_a_sqlite_store_is_read_from_its_file(
    target: types.ModuleType, tmp_path: Path
) -> None:
    scheduler = Scheduler(store=SQLiteStore(tmp_path / "jobs.db"))
    await scheduler.add(work, Every(minutes=5), id="five")
    await scheduler.store.close()
    target.scheduler = scheduler  # type: ignore[attr-defined]
    text = await list_jobs(f"{target.__name__}:scheduler", None, UTC)
    assert [line.split()[0] for line in text.splitlines()[2:]] == ["five"]


async def test_a_target_on_postgresql_lists_its_stored_jobs_and_an_outage_is_exit_1(
    target: types.ModuleType, pg_schema: str
) -> None:
    scheduler = Scheduler(store=PostgresStore(PG_URL, schema=pg_schema), allow=["tests"])
    await scheduler.add(work, Every(minutes=5), id="five")  # opens the store; the CLI closes it
    target.scheduler = scheduler  # type: ignore[attr-defined]
    text = await list_jobs(f"{target.__name__}:scheduler", None, UTC)
    assert [line.split()[0] for line in text.splitlines()[2:]] == ["five"]
    target.scheduler = Scheduler(store=UNREACHABLE_PG)  # type: ignore[attr-defined]
    with pytest.raises(UsageError, match="cannot list the jobs of PostgresStore") as info:
        await list_jobs(f"{target.__name__}:scheduler", None, UTC)
    assert info.value.exit_code == 1


@dataclass
class Report:
    """A broken job as a third-party store may report it: an object, not a tuple."""

    id: str
    reason: str


async def test_broken_jobs_reported_as_objects_are_listed_too(target: types.ModuleType) -> None:
    scheduler = Scheduler()

    def broken_jobs() -> list[object]:
        return [Report("old", "cannot import 'reports.old'"), "bare-id"]

    scheduler.store.broken_jobs = broken_jobs  # type: ignore[attr-defined]
    target.scheduler = scheduler  # type: ignore[attr-defined]
    text = await list_jobs(f"{target.__name__}:scheduler", None, UTC)
    assert text.splitlines() == [
        "no jobs",
        "",
        "2 broken jobs (cannot be loaded):",
        "  old: cannot import 'reports.old'",
        "  bare-id: broken",
    ]
