"""Decorators on a scheduler with a persistent store, used the way a newcomer writes them:
the ``@`` syntax on module-level functions of a real module file (issue 9)."""

from __future__ import annotations

import importlib
import signal
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from aioscheduler import Scheduler
from aioscheduler.errors import SerializationError, StoreError
from aioscheduler.stores.sqlite import SQLiteStore

from .cli.proc import Served, run

APP = """
from aioscheduler import Scheduler
from aioscheduler.testing import FakeClock

scheduler = Scheduler(store="sqlite:///jobs.db", clock=FakeClock() if {fake} else None)
calls = []


@scheduler.every(seconds=1, id="heartbeat")
def heartbeat() -> None:
    calls.append("beat")
    print("beat", flush=True)


@scheduler.cron("0 * * * *")
async def hourly() -> None:
    pass
"""


@pytest.fixture
def app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    package = tmp_path / "newcomer_app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("newcomer_app")]:
        del sys.modules[name]


def write(app_dir: Path, name: str, source: str) -> ModuleType:
    (app_dir / "newcomer_app" / f"{name}.py").write_text(textwrap.dedent(source))
    importlib.invalidate_caches()
    return importlib.import_module(f"newcomer_app.{name}")


async def test_decorated_module_functions_import_and_are_stored_at_start(app_dir: Path) -> None:
    app = write(app_dir, "jobs", APP.format(fake=True))  # failed at import before
    scheduler: Scheduler = app.scheduler
    async with scheduler:
        assert {j.id for j in await scheduler.jobs()} == {"heartbeat", "newcomer_app.jobs.hourly"}
        await scheduler.clock.advance(2)  # type: ignore[attr-defined]
    assert app.calls == ["beat", "beat"]
    assert (app_dir / "jobs.db").exists()


async def test_a_declared_job_that_cannot_be_stored_fails_at_start(app_dir: Path) -> None:
    app = write(
        app_dir,
        "unwrapped",
        """
        from aioscheduler import Scheduler

        scheduler = Scheduler(store="sqlite:///bad.db")

        def unwrapped(func):
            def wrapper():  # no functools.wraps: the module name means another object
                return func()
            return wrapper

        @scheduler.every(seconds=1, id="bad")
        @unwrapped
        def job() -> None:
            pass
        """,
    )
    scheduler: Scheduler = app.scheduler
    with pytest.raises(SerializationError, match="inside another function"):
        await scheduler.start()
    assert not scheduler.running
    await scheduler.stop()


async def test_a_module_declaring_jobs_on_a_running_persistent_scheduler(app_dir: Path) -> None:
    base = write(app_dir, "base", APP.format(fake=True))
    scheduler: Scheduler = base.scheduler
    async with scheduler:
        late = write(
            app_dir,
            "late",
            """
            from newcomer_app.base import scheduler

            @scheduler.every(seconds=5, id="late")
            def late_job() -> None:
                pass
            """,
        )
        await scheduler.clock.advance(0)  # type: ignore[attr-defined]
        job = await scheduler.get("late")
        assert job.func is late.late_job


@pytest.mark.slow
def test_aioscheduler_run_serves_a_decorated_module_with_a_sqlite_store(app_dir: Path) -> None:
    write(app_dir, "served", APP.format(fake=False))
    p = Served("newcomer_app.served", cwd=app_dir)
    try:
        p.wait_for("serving newcomer_app.served: 2 jobs")
        p.wait_for("beat")
        p.signal(signal.SIGINT)
        assert p.finish() == 0, p.output
    finally:
        p.kill()
    assert "Traceback" not in p.output


async def test_a_fastapi_app_module_with_a_sqlite_store_starts_under_its_lifespan(
    app_dir: Path,
) -> None:
    from .integrations.asgi import lifespan

    app = write(
        app_dir,
        "web",
        """
        from fastapi import FastAPI

        from aioscheduler import Scheduler
        from aioscheduler.testing import FakeClock

        scheduler = Scheduler(store="sqlite:///web.db", clock=FakeClock())
        app = FastAPI(lifespan=scheduler.lifespan)


        @scheduler.every(minutes=5, id="refresh")
        async def refresh() -> None:
            pass
        """,
    )  # what uvicorn does: import the module (this failed), then run the lifespan
    async with lifespan(app.app):
        assert [j.id for j in await app.scheduler.jobs()] == ["refresh"]


@pytest.mark.slow
def test_aioscheduler_run_with_a_store_that_cannot_open_is_one_line(app_dir: Path) -> None:
    write(app_dir, "nodir", APP.format(fake=False).replace("jobs.db", "missing/jobs.db"))
    proc = run("run", "newcomer_app.nodir", cwd=app_dir)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert errors == [
        "aioscheduler run: error: cannot start newcomer_app.nodir: cannot open the SQLite "
        "store 'missing/jobs.db': directory 'missing' does not exist; create it first "
        "(mkdir -p 'missing') or point the store at an existing directory"
    ]
    assert "Traceback" not in proc.stderr
    assert not (app_dir / "missing").exists()


async def test_a_sqlite_store_in_a_missing_directory_raises_store_error(tmp_path: Path) -> None:
    scheduler = Scheduler(store=SQLiteStore(tmp_path / "missing" / "jobs.db"))
    with pytest.raises(StoreError, match=r"directory .*missing' does not exist"):
        await scheduler.start()
