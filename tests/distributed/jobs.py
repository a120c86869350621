"""Importable job functions for the distributed tests: they leave traces in a log file.

Each line: ``<event> <job id> <slot> <attempt> <node> <wall time>``; the tests compare these
with what the store recorded.
"""

from __future__ import annotations

import asyncio
import os
import time

from aioscheduler import current_run


def _trace(log: str, event: str) -> None:
    run = current_run()
    assert run is not None
    line = (
        f"{event} {run.job_id} {run.scheduled_at.timestamp()!r} {run.attempt} {run.node} "
        f"{time.time()!r}\n"
    )
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())  # one write: lines from several processes never mix
    finally:
        os.close(fd)


async def noop() -> None:
    """Does nothing: the store's records are the evidence."""


async def stamp(log: str) -> None:
    """Note the start of the run."""
    _trace(log, "start")


async def slow(seconds: float, log: str) -> None:
    """Note the start, sleep, note the end (or the cancellation)."""
    _trace(log, "start")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        _trace(log, "cancel")
        raise
    _trace(log, "end")


def read(log: str) -> list[tuple[str, str, float, int, str, float]]:
    """The trace lines of ``log`` as tuples."""
    if not os.path.exists(log):
        return []
    out = []
    with open(log) as f:
        for line in f:
            ev, job, slot, attempt, node, at = line.split()
            out.append((ev, job, float(slot), int(attempt), node, float(at)))
    return out
