"""Workload 2, burst throughput: N no-op firings due at the same instant.

Firings/s = N / (time the last callback ran - max(due time, end of scheduling)).
The due time is set far enough ahead for scheduling to finish first (a per-system
estimate); if scheduling still overran, the result carries ``overran_s``.

Cases:
  ``async``  async callback. raw: ``call_at`` + ``create_task``; aioscheduler: ``add(At)``;
             APS3 date job; APS4 DateTrigger schedule.
  ``sync``   plain function on worker threads (limit 40 everywhere). raw:
             ``call_at`` + ``create_task(anyio.to_thread.run_sync)``; aioscheduler: default
             for plain functions; APS3: loop default executor; APS4: threadpool executor.
  ``inline`` plain function run on the loop. raw: ``call_at(fn)``; aioscheduler:
             ``executor="inline"``; APS4: the "async" executor. APS3 has no such mode.
  ``timer``  async callback through aioscheduler's ``call_at`` timer (raw as ``async``).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from . import _systems as S
from ._common import NotApplicable, Params, wait_for_flag

# Seconds of scheduling per item we plan for, per system (generous; see overran_s).
_EST_PER_ITEM = {"raw": 4e-6, "aioscheduler": 40e-6, "aps3": 60e-6, "aps4": 120e-6}


class _State:
    n = 0
    counter: Any = itertools.count()
    t_last = 0.0
    t0 = 0.0
    loop: asyncio.AbstractEventLoop | None = None
    done: asyncio.Event | None = None


ST = _State()


def fire_sync(*_: Any) -> None:
    c = next(ST.counter)  # atomic under the GIL, safe from worker threads
    if c == ST.n - 1:
        ST.t_last = time.perf_counter()
        assert ST.loop is not None
        assert ST.done is not None
        ST.loop.call_soon_threadsafe(ST.done.set)


async def fire_async(*_: Any) -> None:
    fire_sync()


def _prepare(p: Params) -> tuple[float, float, float]:
    """Reset counters; return the common due time as (wall, perf, loop) times."""
    ST.n, ST.counter, ST.t_last = p.n, itertools.count(), 0.0
    ST.loop = asyncio.get_running_loop()
    ST.done = asyncio.Event()
    ST.t0 = time.perf_counter()
    lead = 0.15 + p.n * _EST_PER_ITEM[p.system]
    return time.time() + lead, time.perf_counter() + lead, ST.loop.time() + lead


async def _finish(p: Params, due_perf: float, sched_done: float) -> dict[str, Any]:
    assert ST.done is not None
    ok = await wait_for_flag(ST.done, p.remaining())
    fired = min(p.n, next(ST.counter))
    start = max(due_perf, sched_done)
    res: dict[str, Any] = {
        "overran_s": max(0.0, sched_done - due_perf),
        "sched_s": sched_done - ST.t0,
        "fired": fired,
    }
    if not ok:
        res["error"] = f"timeout: {fired:,} of {p.n:,} fired within {p.budget:.0f}s"
        return res
    res["per_s"] = p.n / max(ST.t_last - start, 1e-9)
    res["drain_s"] = ST.t_last - start
    return res


async def run_raw(p: Params) -> dict[str, Any]:
    _, due, due_loop = _prepare(p)
    loop = asyncio.get_running_loop()
    spawn = loop.create_task
    if p.case in ("async", "timer"):

        def cb() -> None:
            spawn(fire_async())
    elif p.case == "sync":
        import anyio

        limiter = anyio.CapacityLimiter(S.THREADS)
        run_sync = anyio.to_thread.run_sync

        def cb() -> None:
            spawn(run_sync(fire_sync, limiter=limiter))
    else:
        cb = fire_sync
    call_at = loop.call_at
    for _ in range(p.n):
        call_at(due_loop, cb)
    return await _finish(p, due, time.perf_counter())


async def run_aioscheduler(p: Params) -> dict[str, Any]:
    from aioscheduler import At

    wall, due, _ = _prepare(p)
    when = S.dt(wall)
    async with S.aioscheduler_started() as s:
        if p.case == "timer":
            for _ in range(p.n):
                s.call_at(when, fire_async)
        else:
            fn = fire_async if p.case == "async" else fire_sync
            kw = {"executor": "inline"} if p.case == "inline" else {}
            for i in range(p.n):
                await s.add(fn, At(when), id=f"b{i}", **kw)
                if not i % 1000:
                    p.check(i, p.n)
        return await _finish(p, due, time.perf_counter())


async def run_aps3(p: Params) -> dict[str, Any]:
    if p.case in ("inline", "timer"):
        raise NotApplicable("no inline mode" if p.case == "inline" else "no timer API")
    wall, due, _ = _prepare(p)
    when = S.dt(wall)
    fn = fire_async if p.case == "async" else fire_sync
    async with S.aps3_started() as s:
        for i in range(p.n):
            s.add_job(fn, "date", run_date=when, id=f"b{i}")
            if not i % 1000:
                p.check(i, p.n)
        return await _finish(p, due, time.perf_counter())


async def run_aps4(p: Params) -> dict[str, Any]:
    if p.case == "timer":
        raise NotApplicable("no timer API")
    from apscheduler.triggers.date import DateTrigger

    wall, due, _ = _prepare(p)
    fn = fire_async if p.case == "async" else fire_sync
    executor = "threadpool" if p.case == "sync" else "async"
    async with S.aps4_started(executor) as s:
        when = S.dt(wall)
        for i in range(p.n):
            # A trigger carries state: one instance per schedule.
            await s.add_schedule(fn, DateTrigger(when), id=f"b{i}")
            if not i % 1000:
                p.check(i, p.n)
        return await _finish(p, due, time.perf_counter())


async def run_aiocron(p: Params) -> dict[str, Any]:
    raise NotApplicable("not cron-shaped")
