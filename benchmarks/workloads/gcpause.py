"""Workload 7, garbage-collection pauses: N interval jobs (10 s) firing.

With 1e5 jobs registered, a full (generation 2) collection walks every job object, so
if one happens while jobs fire it lands on the firing path as a pause of the loop. Each job
first fires one interval after it is added (the phases spread over the registration time,
and a slow registration builds no backlog). A second after the first firing, the window
opens for ``duration`` seconds; a ``gc.callbacks`` hook records every collection in it
(generation, pause). Reported: collections per generation, the longest pause of each, the
total of full collections, fired %, p99 lateness. Nothing is tuned by the benchmark (no
``gc.freeze()``, no thresholds): what a system does on its own is what is measured.
"""

from __future__ import annotations

import asyncio
import gc
import math
import time
from array import array
from typing import Any

from . import _systems as S
from ._common import NotApplicable, Params, quantiles_ms, wall_to_loop

INTERVAL = 10.0
_EST_PER_ITEM = {"raw": 4e-6, "aioscheduler": 40e-6, "aps3": 60e-6, "aps4": 120e-6}


class _Rec:
    def __init__(self) -> None:
        self.lat = array("d")
        self.n_lat = 0
        self.w0 = math.inf
        self.w1 = math.inf
        self.gc_start = 0.0
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds) in the window


R = _Rec()


def _gc_hook(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        R.gc_start = time.perf_counter()
        return
    t = time.time()
    if R.w0 <= t < R.w1 + 0.5:
        R.pauses.append((int(info["generation"]), time.perf_counter() - R.gc_start))


def _record(t: float, intended: float) -> None:
    if R.w0 <= intended < R.w1:
        n = R.n_lat
        if n < len(R.lat):
            R.lat[n] = t - intended
            R.n_lat = n + 1


async def rec_raw(i: int, due: float) -> None:
    _record(time.time(), due)


async def rec_aioscheduler(i: int) -> None:
    t = time.time()
    it = S.aioscheduler_intended()
    _record(t, t if it is None else it)


async def _run(p: Params, setup: Any) -> dict[str, Any]:
    """``setup(firsts)`` registers the N jobs, each with its first firing one interval after
    it is added (so registration, however long, never builds a backlog), and appends that
    first firing's time to ``firsts``."""
    n, dur = p.n, p.duration
    R.lat = array("d", bytes(8 * int(n * (dur / INTERVAL + 1) * 1.2)))
    R.n_lat, R.w0, R.w1, R.pauses = 0, math.inf, math.inf, []
    firsts: list[float] = []
    t0 = time.perf_counter()
    r = setup(firsts)
    if asyncio.iscoroutine(r):
        await r
    setup_s = time.perf_counter() - t0
    gc.callbacks.append(_gc_hook)
    try:
        R.w0 = max(time.time(), firsts[0]) + 1.0  # a second of firings first
        R.w1 = R.w0 + dur
        await asyncio.sleep(R.w1 + 0.5 - time.time())
    finally:
        gc.callbacks.remove(_gc_hook)
    fired = R.n_lat
    expected = 0
    for ph in firsts:
        expected += math.ceil((R.w1 - ph) / INTERVAL - 1e-9) - math.ceil(
            max(0.0, (R.w0 - ph) / INTERVAL) - 1e-9
        )
    by_gen: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for gen, secs in R.pauses:
        by_gen.setdefault(gen, []).append(secs)
    return {
        "expected": expected,
        "fired": fired,
        "fired_pct": 100.0 * fired / max(expected, 1),
        **quantiles_ms(R.lat[:fired]),
        "collections": [len(by_gen[g]) for g in (0, 1, 2)],
        "max_pause_ms": [max(by_gen[g], default=0.0) * 1000.0 for g in (0, 1, 2)],
        "gen2_total_ms": sum(by_gen[2]) * 1000.0,
        "setup_s": setup_s,
    }


async def run_raw(p: Params) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    off = wall_to_loop(loop)
    keep: list[Any] = []

    def setup(firsts: list[float]) -> None:
        for i in range(p.n):
            first = time.time() + INTERVAL
            firsts.append(first)
            keep.append(S.RawJob(loop, off, rec_raw, (i,), first, INTERVAL, True))

    return await _run(p, setup)


async def run_aioscheduler(p: Params) -> dict[str, Any]:
    import aioscheduler as A

    async with S.aioscheduler_started() as s:
        add = S.aioscheduler_adder(s)

        async def setup(firsts: list[float]) -> None:
            for i in range(p.n):
                first = time.time() + INTERVAL
                job = await add(
                    rec_aioscheduler,
                    A.Every(seconds=INTERVAL),
                    i,
                    id=f"g{i}",
                    overlap="allow",
                    coalesce=False,
                )
                nxt = job.next_run_at
                firsts.append(first if nxt is None else nxt.timestamp())
                if not i % 1000:
                    p.check(i, p.n)

        return await _run(p, setup)


async def run_aps3(p: Params) -> dict[str, Any]:
    raise NotApplicable("not measured (ours vs raw only)")


async def run_aps4(p: Params) -> dict[str, Any]:
    raise NotApplicable("not measured (ours vs raw only)")


async def run_aiocron(p: Params) -> dict[str, Any]:
    raise NotApplicable("not measured (ours vs raw only)")
