"""Module-level job functions for the store tests (stored jobs need importable callables)."""

from __future__ import annotations

import time
from pathlib import Path

from aioscheduler import current_run

#: (tag, scheduled_at timestamp) of every call of :func:`note`, in call order.
CALLS: list[tuple[str, float]] = []


async def note(tag: str) -> None:
    run = current_run()
    assert run is not None
    CALLS.append((tag, run.scheduled_at.timestamp()))


def crash_once(marker: str) -> str:
    """First run: leave a marker and hang (the test kills the process). Later runs: finish.

    A plain function, so it runs on a worker thread and may block.
    """
    path = Path(marker)
    if not path.exists():
        path.write_text("started\n")
        time.sleep(3600)
    with path.open("a") as f:
        f.write("rerun\n")
    return "recovered"


#: (tag, scheduled_at, wall time at start) of every call of :func:`stamp_time`.
STAMPS: list[tuple[str, float, float]] = []


async def stamp_time(tag: str) -> None:
    run = current_run()
    assert run is not None
    STAMPS.append((tag, run.scheduled_at.timestamp(), time.time()))
