"""``aioscheduler run``: serves until a signal, stops gracefully, a second signal forces."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from aioscheduler import Outcome, Run
from aioscheduler.cli.run import SAME_REQUEST_WINDOW, log_run
from aioscheduler.events import RunFinished

from .proc import Served, run

pytestmark = pytest.mark.slow


@pytest.fixture
def served() -> Iterator[list[Served]]:
    procs: list[Served] = []
    yield procs
    for p in procs:
        p.kill()


def start(procs: list[Served], *args: str) -> Served:
    p = Served(*args)
    procs.append(p)
    p.wait_for("serving")
    return p


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serves_logs_firings_and_stops_cleanly_on_a_signal(
    served: list[Served], sig: signal.Signals
) -> None:
    p = start(served, "tests.cli.apps:scheduler")
    assert "serving tests.cli.apps:scheduler: 2 jobs" in p.output
    p.wait_for("job 'fast' success")
    p.signal(sig)
    assert p.finish() == 0
    assert f"{sig.name} received: stopping" in p.output
    assert p.lines[-1].endswith("stopped cleanly")
    assert "Traceback" not in p.output


@pytest.mark.parametrize("factory", ["make_scheduler", "make_scheduler_async"])
def test_serves_what_a_sync_or_async_factory_returns(served: list[Served], factory: str) -> None:
    p = start(served, f"tests.cli.apps:{factory}", "--factory")
    p.wait_for("job 'made-")
    p.signal(signal.SIGTERM)
    assert p.finish() == 0


def test_the_first_signal_lets_running_work_finish_within_the_grace(served: list[Served]) -> None:
    p = start(served, "tests.cli.apps:slow", "--grace", "30")
    p.wait_for("slow started")
    p.signal(signal.SIGINT)
    assert p.finish() == 0
    assert "slow finished" in p.output
    assert "slow cancelled" not in p.output


def test_work_outliving_the_grace_is_cancelled(served: list[Served]) -> None:
    p = start(served, "tests.cli.apps:slow", "--grace", "0")
    p.wait_for("slow started")
    p.signal(signal.SIGINT)
    assert p.finish() == 0
    assert "slow cancelled" in p.output
    assert p.lines[-1].endswith("stopped cleanly")


def test_a_second_signal_cancels_at_once_and_exits_1(served: list[Served]) -> None:
    p = start(served, "tests.cli.apps:very_slow")  # no grace: would wait as long as it takes
    p.wait_for("slow started")
    p.signal(signal.SIGINT)
    p.wait_for("SIGINT received: stopping")
    time.sleep(2 * SAME_REQUEST_WINDOW)  # a separate request, not the same one twice
    p.signal(signal.SIGINT)
    assert p.finish() == 1
    assert "SIGINT received again: cancelling running work" in p.output
    assert "slow cancelled" in p.output
    assert "slow finished" not in p.output
    assert p.lines[-1].endswith("stopped by force: running work was cancelled")


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_the_process_and_its_group_is_one_graceful_stop(
    served: list[Served], sig: signal.Signals, loop: str
) -> None:
    pytest.importorskip(loop)
    p = start(served, "tests.cli.apps:slow", "--loop", loop)
    p.wait_for("slow started")
    p.signal_process_and_group(sig)
    assert p.finish() == 0, p.output
    assert "slow finished" in p.output
    assert "slow cancelled" not in p.output
    assert "received again: cancelling" not in p.output
    assert p.lines[-1].endswith("stopped cleanly")


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_gnu_timeout_stops_it_gracefully(served: list[Served], loop: str) -> None:
    pytest.importorskip(loop)
    timeout = shutil.which("timeout")
    if timeout is None:
        pytest.skip("GNU timeout is not installed")
    p = Served("tests.cli.apps:slow", "--loop", loop, prefix=(timeout, "-s", "TERM", "6"))
    served.append(p)
    p.wait_for("slow started")
    assert p.finish(timeout=60) == 124  # timeout's own status: it had to signal the command
    assert "SIGTERM received: stopping" in p.output
    assert "slow cancelled" not in p.output and "by force" not in p.output, p.output
    assert p.lines[-1].endswith("stopped cleanly")


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_the_loop_can_be_chosen(served: list[Served], loop: str) -> None:
    pytest.importorskip(loop)
    p = start(served, "tests.cli.apps:scheduler", "--loop", loop)
    assert f"on the {loop} loop" in p.output
    p.signal(signal.SIGTERM)
    assert p.finish() == 0


def test_log_level_warning_hides_successful_firings(served: list[Served]) -> None:
    p = Served("tests.cli.apps:slow", "--log-level", "warning")
    served.append(p)
    p.wait_for("slow started")
    p.signal(signal.SIGTERM)
    assert p.finish() == 0
    assert "INFO" not in p.output


@pytest.mark.parametrize(
    ("target", "code", "message"),
    [
        ("no_such_module:scheduler", 2, "cannot import 'no_such_module': no module named"),
        ("tests.cli.apps:nothing", 2, "module 'tests.cli.apps' has no attribute 'nothing'"),
        ("tests.cli.apps:not_a_scheduler", 2, "is a int, not a Scheduler"),
        ("tests.cli.apps:make_nothing --factory", 2, "returned a int, not a Scheduler"),
        ("tests.cli.apps:make_failure --factory", 1, "failed: RuntimeError: config missing"),
        ("tests.cli.apps:send_digest", 2, "is a function, not a Scheduler; if it is a factory"),
        ("tests.cli.apps:scheduler --factory", 2, "is a Scheduler, not a factory"),
        ("examples/quickstart.py", 2, "file path; name the module instead: 'examples.quickstart'"),
        ("tests.cli.broken_app:scheduler", 1, "RuntimeError: boom at import"),
        ("tests.cli.apps:", 2, "expected module:attribute"),
    ],
    ids=[
        "module",
        "attribute",
        "not-a-scheduler",
        "factory-type",
        "factory-fails",
        "callable-without-factory",
        "factory-not-callable",
        "file-path",
        "import-fails",
        "empty-attribute",
    ],
)
def test_a_target_that_cannot_be_loaded_gives_one_line(
    target: str, code: int, message: str
) -> None:
    proc = run("run", *target.split())
    assert proc.returncode == code
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("aioscheduler run: error: ")
    assert message in lines[0]


@pytest.mark.parametrize(
    "args",
    [["--grace", "-1"], ["--grace", "soon"], ["--loop", "trio"], ["--log-level", "loud"], []],
    ids=["negative-grace", "text-grace", "unknown-loop", "unknown-level", "no-target"],
)
def test_bad_arguments_exit_2(args: list[str]) -> None:
    target = ["tests.cli.apps:scheduler"] if args else []
    proc = run("run", *target, *args)
    assert proc.returncode == 2
    assert "usage: aioscheduler run" in proc.stderr


def test_log_run_names_timers_and_reasons(caplog: pytest.LogCaptureFixture) -> None:
    class FakeTimer:
        def callback(self) -> None: ...

    at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    runs: list[Any] = [
        Run(None, at, at, at, outcome=Outcome.SUCCESS, timer=FakeTimer()),
        Run("j", at, at, at, outcome=Outcome.CANCELLED, reason="scheduler stopped"),
        Run("s", at, outcome=Outcome.SKIPPED, reason="previous run still running"),
        Run("k", at, at, at, outcome=Outcome.ERROR),
        Run("m", at, outcome=Outcome.MISSED, missed=1),
    ]
    with caplog.at_level("INFO", logger="aioscheduler.cli"):
        for r in runs:
            log_run(RunFinished(run=r))
    # skipped, failed and missed firings are logged by the library itself: not twice
    assert [r.levelname for r in caplog.records] == ["INFO", "INFO"]
    assert "FakeTimer.callback' success" in caplog.records[0].message
    assert "scheduler stopped" in caplog.records[1].message


def test_each_failure_and_skip_is_logged_once(served: list[Served]) -> None:
    p = start(served, "tests.cli.apps:troubled", "--log-level", "debug")
    p.wait_for("job 'failing' failed")
    p.wait_for("job 'overlapping' firing skipped")
    p.signal(signal.SIGTERM)
    assert p.finish() == 0
    failing = [line for line in p.lines if "'failing'" in line and "added" not in line]
    skipped = [line for line in p.lines if "'overlapping'" in line and "skipped" in line]
    assert failing and all("ERROR" in line and "aioscheduler.runner" in line for line in failing)
    assert skipped and all("aioscheduler.runner" in line for line in skipped)
    assert "Traceback" in p.output  # the final failure carries its traceback, once per firing
    assert p.output.count("Traceback") == len(failing)
