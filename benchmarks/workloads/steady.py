"""Workload 5, steady state: N interval jobs (1 s, phases spread) for a while.

After a warm-up (1-2 s) the window opens for ``duration`` seconds: lateness
percentiles of firings due in the window, CPU seconds per 1,000 firings
(``time.process_time`` over the window) and RSS at start / middle / end of it.
Firings are recorded into a preallocated array so the recorder itself does not
grow the RSS. Intended times come from the same sources as in precision.py.
"""

from __future__ import annotations

import asyncio
import math
import time
from array import array
from typing import Any

from . import _systems as S
from ._common import NotApplicable, Params, quantiles_ms, rss_bytes, wall_to_loop

INTERVAL = 1.0
_EST_PER_ITEM = {"raw": 4e-6, "aioscheduler": 40e-6, "aps3": 60e-6, "aps4": 120e-6}


class _Rec:
    def __init__(self) -> None:
        self.lat = array("d")
        self.n_lat = 0
        self.w0 = 0.0
        self.w1 = float("inf")
        self.first: list[float] = []
        self.count: list[int] = []


R = _Rec()


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


async def rec_aps4(i: int) -> None:
    t = time.time()
    it = S.aps4_intended()
    _record(t, t if it is None else it)


async def rec_counted(i: int) -> None:
    # APS3 fires every slot in order (coalesce off, no misfire limit).
    t = time.time()
    k = R.count[i]
    R.count[i] = k + 1
    _record(t, R.first[i] + k * INTERVAL)


async def _run(p: Params, setup: Any) -> dict[str, Any]:
    n, dur = p.n, p.duration
    R.lat = array("d", bytes(8 * int(n * (dur + 2) * 1.2)))
    R.n_lat, R.w0, R.w1 = 0, float("inf"), float("inf")
    R.first, R.count = [0.0] * n, [0] * n
    base = time.time() + 0.2 + n * _EST_PER_ITEM[p.system]
    warmup = min(2.0, max(1.0, dur / 4))
    t0 = time.perf_counter()
    r = setup([base + INTERVAL * i / n for i in range(n)])
    if asyncio.iscoroutine(r):
        await r
    setup_s = time.perf_counter() - t0
    R.w0 = max(time.time(), base) + warmup
    R.w1 = R.w0 + dur
    rss = []
    await asyncio.sleep(R.w0 - time.time())
    cpu0 = time.process_time()
    rss.append(rss_bytes())
    await asyncio.sleep(R.w0 + dur / 2 - time.time())
    rss.append(rss_bytes())
    await asyncio.sleep(R.w1 - time.time())
    cpu1 = time.process_time()
    rss.append(rss_bytes())
    fired_in_window_by_now = R.n_lat
    await asyncio.sleep(0.5)  # late firings of slots due in the window
    fired = R.n_lat
    expected = 0
    for i in range(n):
        ph = base + INTERVAL * i / n
        expected += math.ceil((R.w1 - ph) / INTERVAL - 1e-9) - math.ceil(
            (R.w0 - ph) / INTERVAL - 1e-9
        )
    return {
        "expected": expected,
        "fired": fired,
        "fired_pct": 100.0 * fired / max(expected, 1),
        **quantiles_ms(R.lat[:fired]),
        "cpu_per_1k": (cpu1 - cpu0) / max(fired_in_window_by_now, 1) * 1000.0,
        "rss_mb": [x / 2**20 for x in rss],
        "setup_s": setup_s,
    }


async def run_raw(p: Params) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    off = wall_to_loop(loop)
    keep: list[Any] = []

    def setup(phases: list[float]) -> None:
        for i, ph in enumerate(phases):
            keep.append(S.RawJob(loop, off, rec_raw, (i,), ph, INTERVAL, True))

    return await _run(p, setup)


async def run_aioscheduler(p: Params) -> dict[str, Any]:
    import aioscheduler as A

    async with S.aioscheduler_started() as s:
        add = S.aioscheduler_adder(s)

        async def setup(phases: list[float]) -> None:
            for i, ph in enumerate(phases):
                await add(
                    rec_aioscheduler,
                    A.Every(seconds=INTERVAL, start_at=S.dt(ph)),
                    i,
                    id=f"s{i}",
                    overlap="allow",
                    coalesce=False,
                )

        return await _run(p, setup)


async def run_aps3(p: Params) -> dict[str, Any]:
    async with S.aps3_started() as s:

        def setup(phases: list[float]) -> None:
            for i, ph in enumerate(phases):
                job = s.add_job(
                    rec_counted,
                    "interval",
                    seconds=INTERVAL,
                    start_date=S.dt(ph),
                    args=(i,),
                    id=f"s{i}",
                )
                R.first[i] = job.next_run_time.timestamp()

        return await _run(p, setup)


async def run_aps4(p: Params) -> dict[str, Any]:
    from apscheduler.triggers.interval import IntervalTrigger

    async with S.aps4_started() as s:

        async def setup(phases: list[float]) -> None:
            for i, ph in enumerate(phases):
                await s.add_schedule(
                    rec_aps4,
                    IntervalTrigger(seconds=INTERVAL, start_time=S.dt(ph)),
                    args=(i,),
                    id=f"s{i}",
                    coalesce=S.aps4_all(),
                )
                if not i % 1000:
                    p.check(i, p.n)

        return await _run(p, setup)


async def run_aiocron(p: Params) -> dict[str, Any]:
    raise NotApplicable("phases are not cron-shaped")
