"""Measurement helpers shared by the workloads: memory, clocks, deadlines, stats.

Everything here runs inside a child process (one system x workload x N each) and
must import in every venv: standard library only.
"""

from __future__ import annotations

import asyncio
import gc
import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

# Far enough in the future that nothing scheduled for cost measurements fires
# while we measure.
FAR_S = 3600.0


class NotApplicable(Exception):
    """The system has no way to express this workload (reported as "n/a")."""


class SoftTimeout(Exception):
    """The child ran out of its time budget; the message says how far it got."""


@dataclass(slots=True)
class Params:
    """What the parent asks a child to run."""

    workload: str
    case: str
    system: str  # raw | aioscheduler | aps3 | aps4 | aiocron
    loop: str  # asyncio | uvloop
    n: int
    duration: float = 0.0  # seconds of observation, where the workload has one
    budget: float = 60.0  # seconds the child may spend before reporting a soft timeout
    extra: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return self.budget - (time.monotonic() - self.started)

    def check(self, done: int, total: int, what: str = "scheduled") -> None:
        """Raise SoftTimeout when the budget is spent (call every ~1000 items)."""
        if self.remaining() <= 0:
            raise SoftTimeout(f"{what} {done:,} of {total:,} within {self.budget:.0f}s")


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm (Linux)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        return 0


def settled_rss() -> int:
    gc.collect()
    return rss_bytes()


async def settle(rounds: int = 3) -> None:
    """Let the loop run callbacks that the measured calls queued (call_soon etc.)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def quantiles_ms(values: Iterable[float]) -> dict[str, float | None]:
    """p50/p99/max of seconds, in milliseconds (nearest-rank on the sorted list)."""
    xs = sorted(values)
    if not xs:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}

    def rank(q: float) -> float:
        return xs[min(len(xs) - 1, max(0, math.ceil(q * len(xs)) - 1))] * 1000.0

    return {"p50_ms": rank(0.50), "p99_ms": rank(0.99), "max_ms": xs[-1] * 1000.0}


def wall_to_loop(loop: asyncio.AbstractEventLoop) -> float:
    """Offset such that ``loop_time = wall - offset``."""
    return time.time() - loop.time()


async def wait_until_wall(t: float) -> None:
    d = t - time.time()
    if d > 0:
        await asyncio.sleep(d)


async def wait_for_flag(event: asyncio.Event, within: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), max(0.0, within))
    except TimeoutError:
        return False
    return True


def next_whole_second(t: float, margin: float = 0.0) -> float:
    return float(math.ceil(t + margin))
