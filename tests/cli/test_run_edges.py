"""``aioscheduler run`` in process: the log line of runs that covered missed firings or never
started, and a target whose store cannot open (exit status 1, one line)."""

from __future__ import annotations

import asyncio
import logging
import sys
import types
from collections.abc import Iterator

import pytest

from aioscheduler import Every, Scheduler
from aioscheduler.cli._target import UsageError
from aioscheduler.cli.run import log_run, serve
from aioscheduler.events import RunFinished
from aioscheduler.testing import FakeClock


@pytest.fixture
def target() -> Iterator[types.ModuleType]:
    module = types.ModuleType("_cli_run_edges")
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


def cli_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "aioscheduler.cli"]


async def test_a_run_that_covered_missed_firings_says_how_many(
    running: Scheduler, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    running.subscribe(log_run, RunFinished)
    await running.add(lambda: None, Every(seconds=10), id="late", executor="inline")
    clock.jump(35)  # the firings of 10, 20 and 30 s are late: coalesced into one run
    with caplog.at_level(logging.INFO, "aioscheduler.cli"):
        await clock.advance(0)
        for _ in range(100):
            if cli_lines(caplog):
                break
            await asyncio.sleep(0.01)
    [line] = cli_lines(caplog)
    assert line.startswith("job 'late' success, scheduled 2026-03-02 12:00:30.000")
    assert ", late 5000.0 ms, took 0.0 ms" in line
    assert line.endswith(", missed 2")


async def test_a_run_that_never_started_has_no_lateness_or_duration(
    scheduler: Scheduler, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    gate = asyncio.Event()

    async def hangs() -> None:
        await gate.wait()

    scheduler.subscribe(log_run, RunFinished)
    await scheduler.add(hangs, Every(seconds=10), id="q", overlap="queue")
    await scheduler.start()
    await clock.advance(20)  # the second firing is queued behind the first run
    with caplog.at_level(logging.INFO, "aioscheduler.cli"):
        await scheduler.stop(timeout=0)
    lines = sorted(cli_lines(caplog))
    assert len(lines) == 2
    queued = [line for line in lines if "12:00:20" in line]
    assert queued == [
        "job 'q' cancelled, scheduled 2026-03-02 12:00:20.000, scheduler stopped"
    ]  # no "late", no "took": it never started


async def test_a_target_whose_store_cannot_open_exits_1_with_one_line(
    target: types.ModuleType,
) -> None:
    target.scheduler = Scheduler(store="postgresql://postgres@127.0.0.1:1/test?timeout=1")  # type: ignore[attr-defined]
    with pytest.raises(UsageError, match="cannot start _cli_run_edges:scheduler: ") as info:
        await serve(f"{target.__name__}:scheduler", None, "asyncio")
    assert info.value.exit_code == 1
    assert "\n" not in str(info.value)
