"""The examples run, and do what their docstrings say."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer
from fastapi import FastAPI

from aioscheduler import Scheduler
from aioscheduler.testing import FakeClock

from .integrations.asgi import lifespan

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow
def test_quickstart_prints_firings_and_stops_cleanly() -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py"), "--duration", "3.5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("scheduler running")
    assert lines[-1] == "stopped cleanly"
    pattern = re.compile(r"^(\S.*?)\s+scheduled (\S+)\s+ran (\S+)\s+late\s+(-?[\d.]+) ms$")
    firings = [m.groups() for line in lines[1:-1] if (m := pattern.match(line))]
    assert len(firings) == len(lines) - 2  # every other line is a firing report
    names = [f[0] for f in firings]
    assert names.count("heartbeat") >= 2
    assert "one-shot" in names
    assert any(n.startswith("timer (") for n in names)
    assert all(0 <= float(f[3]) < 1000 for f in firings)  # generous bound: never early


# -- helpers ------------------------------------------------------------------------------------


def load(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` by path (the examples are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def printed_in_docstring(name: str) -> list[str]:
    """The literal block that follows "prints" in the example's docstring ("..." lines kept)."""
    doc = ast.get_docstring(ast.parse((EXAMPLES / f"{name}.py").read_text(encoding="utf-8")))
    assert doc is not None
    lines = doc.splitlines()
    said = next(i for i, line in enumerate(lines) if " prints" in line)
    start = next(i for i, line in enumerate(lines) if i >= said and line.endswith("::"))
    block: list[str] = []
    for line in lines[start + 1 :]:
        if line and not line.startswith("    "):
            break
        if line.strip():
            block.append(line[4:])
    return block


def assert_in_order(expected: list[str], actual: list[str]) -> None:
    """Every expected line ("..." skips any number of lines) appears in order."""
    rest = iter(actual)
    for line in expected:
        if line.strip() == "...":
            continue
        assert line in rest, f"{line!r} not printed (in order) in:\n" + "\n".join(actual)


def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, cwd=EXAMPLES.parent
    )
    assert proc.returncode == 0, proc.stderr
    return proc


# -- cron report, ticks cleanup: the script prints exactly what its docstring shows --------------


@pytest.mark.slow
def test_cron_report_keeps_nine_oclock_berlin_across_dst() -> None:
    proc = run_example(str(EXAMPLES / "cron_report.py"))
    assert proc.stdout.splitlines() == printed_in_docstring("cron_report")


@pytest.mark.slow
def test_ticks_cleanup_cleans_more_often_when_busy() -> None:
    proc = run_example(str(EXAMPLES / "ticks_cleanup.py"))
    lines = proc.stdout.splitlines()
    assert_in_order(printed_in_docstring("ticks_cleanup"), lines)
    times = [float(line.split("s ")[0].removeprefix("t=")) for line in lines[:-1]]
    assert times == [10, 20, 30, 40, 50, 60, 110, 160]  # every 100 requests


# -- sessions: timers that return their next delay and clean up after themselves ---------------


async def test_sessions_transcript_on_a_fake_clock(capsys: pytest.CaptureFixture[str]) -> None:
    sessions = load("sessions")
    clock = FakeClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    async with Scheduler(clock=clock) as scheduler:
        server = sessions.Server(scheduler)
        await sessions.simulate(server, clock.advance)
    assert server.sessions == {}
    assert server.log == [
        "+0.00s  session 1: connected",
        "+0.00s  session 2: connected",
        "+0.20s  session 1: handshake -> active",
        "+0.20s  session 2: handshake -> active",
        "+0.50s  session 3: connected",
        "+0.70s  session 3: handshake -> active",
        "+1.20s  session 1: ping 1",
        "+1.20s  session 2: ping 1",
        "+1.20s  session 2: active -> draining",
        "+1.50s  session 3: client disconnected in state active",
        "+1.50s  session 3: active, cleaned up (2 sessions open)",
        "+1.70s  session 2: closed, cleaned up (1 sessions open)",
        "+2.20s  session 1: ping 2",
        "+3.20s  session 1: ping 3",
        "+3.20s  session 1: active -> draining",
        "+3.70s  session 1: closed, cleaned up (0 sessions open)",
    ]
    assert_in_order(printed_in_docstring("sessions"), server.log)
    assert capsys.readouterr().out.splitlines() == server.log


async def test_sessions_left_open_are_cleaned_up_when_the_scheduler_stops() -> None:
    sessions = load("sessions")
    clock = FakeClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    async with Scheduler(clock=clock) as scheduler:
        server = sessions.Server(scheduler)
        server.connect(1, pings=100)
        await clock.advance(5)
        assert list(server.sessions) == [1]
    assert server.sessions == {}
    assert server.log[-1] == "+5.00s  session 1: active, cleaned up (0 sessions open)"


@pytest.mark.slow
def test_sessions_script_runs_on_real_time() -> None:
    proc = run_example(str(EXAMPLES / "sessions.py"))
    lines = proc.stdout.splitlines()
    assert lines[-1] == "all sessions cleaned up"
    assert len(lines) == 17
    assert lines[-2].endswith("session 1: closed, cleaned up (0 sessions open)")


# -- web apps ------------------------------------------------------------------------------------


async def test_fastapi_app_refreshes_while_serving_and_lists_its_jobs() -> None:
    example = load("fastapi_app")
    assert isinstance(example.app, FastAPI)  # what `uvicorn examples.fastapi_app:app` serves
    clock = FakeClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    scheduler = Scheduler(clock=clock)
    app = example.create_app(scheduler)
    transport = httpx.ASGITransport(app=app)
    async with lifespan(app), httpx.AsyncClient(transport=transport, base_url="http://x") as http:
        jobs = (await http.get("/jobs")).json()
        assert [(j["id"], j["trigger"]) for j in jobs] == [
            ("refresh-prices", "every 10 seconds"),
            ("nightly-cleanup", "at 03:00 (UTC)"),
        ]
        await clock.advance(30)
        prices = (await http.get("/prices")).json()
        assert prices == {"refreshed": 3, "last_refresh": "2026-03-02T12:00:30Z"}
        response = await http.post("/jobs/refresh-prices/run")
        assert response.status_code == 202
        await clock.advance(0)
        assert (await http.get("/prices")).json()["refreshed"] == 4
        assert (await http.post("/jobs/nope/run")).status_code == 404
    assert not scheduler.running


async def test_aiohttp_app_counts_visits_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    example = load("aiohttp_app")
    clock = FakeClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    scheduler = Scheduler(clock=clock)
    async with TestClient(TestServer(example.create_app(scheduler))) as http:
        body = await (await http.get("/visits")).json()
        assert (body["visits"], body["reports"]) == (1, 0)
        await clock.advance(10)
        body = await (await http.get("/visits")).json()
        assert (body["visits"], body["reports"]) == (2, 2)
        assert body["next_report"] == "2026-03-02 12:00:15+00:00"
    assert capsys.readouterr().out.splitlines() == ["visits so far: 1", "visits so far: 1"]
    assert not scheduler.running


# -- testing with FakeClock: the example test module passes ---------------------------------------


@pytest.mark.slow
def test_the_fakeclock_example_tests_pass() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(EXAMPLES / "test_with_fakeclock.py"),
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=EXAMPLES.parent,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 passed" in proc.stdout


async def test_the_cli_factory_example_survives_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    example = load("cli_factory")
    for _ in range(3):  # each start is a restart on the same SQLite file
        scheduler = await example.create_scheduler("sqlite:///jobs.db")
        async with scheduler:
            assert [j.id for j in await scheduler.jobs()] == ["refresh"]
    assert (tmp_path / "jobs.db").exists()


def test_background_thread_example_prints_what_it_says() -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "background_thread.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "tick 1 from hello",
        "tick 2 from hello",
        "tick 3 from hello",
        "jobs: ['ticker (paused)']",
        "tick 4 from goodbye",
        "stopped",
    ]
