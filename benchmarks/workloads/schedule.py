"""Workload 1, schedule cost: time per add and memory per pending timer / job.

Cases: ``timer`` (one-shot: ``call_later`` / a date job) and ``job`` (recurring:
an interval job, a cron for aiocron). Every item is due about an hour from now, at
pseudo-random times, so nothing fires while we measure and the heap does real
work. Time covers the add calls plus a few loop turns for work they queue.
Memory is RSS growth / N between two ``gc.collect()``-ed readings.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from . import _systems as S
from ._common import FAR_S, NotApplicable, Params, settle, settled_rss, wall_to_loop


async def noop(*_: Any) -> None:
    return None


def delays(n: int) -> list[float]:
    """Distinct due offsets spread over a minute, in a scrambled order."""
    step = 60.0 / n
    return [FAR_S + ((i * 7919) % n) * step for i in range(n)]


# Each populate_* adds n items to a started system and returns the handles (what
# cancel needs). Tight loops, no per-item adapter indirection.


def populate_raw(p: Params) -> list[Any]:
    loop = asyncio.get_running_loop()
    ds = delays(p.n)
    spawn = loop.create_task
    if p.case == "timer":

        def fire() -> None:
            spawn(noop())

        return [loop.call_later(d, fire) for d in ds]
    offset = wall_to_loop(loop)
    wall = time.time()
    return [S.RawJob(loop, offset, noop, (), wall + d, FAR_S, True) for d in ds]


async def populate_aioscheduler(p: Params, s: Any) -> list[Any]:
    ds = delays(p.n)
    out: list[Any] = []
    if p.case == "timer":
        call_later = s.call_later
        for d in ds:
            out.append(call_later(d, noop))
        return out
    from aioscheduler import Every

    wall = time.time()
    for i, d in enumerate(ds):
        out.append(await s.add(noop, Every(seconds=FAR_S, start_at=S.dt(wall + d)), id=f"j{i}"))
        if not i % 1000:
            p.check(i, p.n)
    return out


def populate_aps3(p: Params, s: Any) -> list[Any]:
    ds = delays(p.n)
    wall = time.time()
    out = []
    for i, d in enumerate(ds):
        if p.case == "timer":
            out.append(s.add_job(noop, "date", run_date=S.dt(wall + d), id=f"t{i}"))
        else:
            out.append(
                s.add_job(noop, "interval", seconds=FAR_S, start_date=S.dt(wall + d), id=f"j{i}")
            )
        if not i % 1000:
            p.check(i, p.n)
    return out


async def populate_aps4(p: Params, s: Any) -> list[Any]:
    from apscheduler.triggers.date import DateTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    ds = delays(p.n)
    wall = time.time()
    out = []
    for i, d in enumerate(ds):
        if p.case == "timer":
            trigger: Any = DateTrigger(S.dt(wall + d))
        else:
            trigger = IntervalTrigger(seconds=FAR_S, start_time=S.dt(wall + d))
        out.append(await s.add_schedule(noop, trigger, id=f"s{i}"))
        if not i % 1000:
            p.check(i, p.n)
    return out


def populate_aiocron(p: Params) -> list[Any]:
    if p.case == "timer":
        raise NotApplicable("no one-shot API")
    out = []
    for i in range(p.n):
        # Yearly, so nothing fires; crontab() defers start() to call_soon.
        out.append(S.aiocron_crontab("0 0 1 1 *", noop))
        if not i % 1000:
            p.check(i, p.n)
    return out


async def _measure(p: Params, populate: Any) -> dict[str, Any]:
    rss0 = settled_rss()
    t0 = time.perf_counter()
    handles = populate()
    if asyncio.iscoroutine(handles):
        handles = await handles
    await settle()
    elapsed = time.perf_counter() - t0
    rss1 = settled_rss()
    assert len(handles) == p.n
    return {
        "us_per_op": elapsed / p.n * 1e6,
        "bytes_per_item": (rss1 - rss0) / p.n,
        "elapsed_s": elapsed,
    }


async def run_raw(p: Params) -> dict[str, Any]:
    return await _measure(p, lambda: populate_raw(p))


async def run_aioscheduler(p: Params) -> dict[str, Any]:
    async with S.aioscheduler_started() as s:
        return await _measure(p, lambda: populate_aioscheduler(p, s))


async def run_aps3(p: Params) -> dict[str, Any]:
    async with S.aps3_started() as s:
        return await _measure(p, lambda: populate_aps3(p, s))


async def run_aps4(p: Params) -> dict[str, Any]:
    async with S.aps4_started() as s:
        return await _measure(p, lambda: populate_aps4(p, s))


async def run_aiocron(p: Params) -> dict[str, Any]:
    if p.case == "timer":
        raise NotApplicable("no one-shot API")
    return await _measure(p, lambda: populate_aiocron(p))
