"""Workload 4, cancel cost: time per cancel of a pending timer / removal of a job.

The items are added exactly as in workload 1 (untimed), then every one is
cancelled in insertion order; time covers the cancel calls plus a few loop turns
(asyncio compacts its heap lazily, APScheduler 3 wakes up per removal).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import _systems as S
from . import schedule as W
from ._common import NotApplicable, Params, settle


async def _measure(p: Params, cancel_all: Callable[[], Awaitable[None] | None]) -> dict[str, Any]:
    await settle()
    t0 = time.perf_counter()
    r = cancel_all()
    if r is not None:
        await r
    await settle()
    elapsed = time.perf_counter() - t0
    return {"us_per_op": elapsed / p.n * 1e6, "elapsed_s": elapsed}


async def run_raw(p: Params) -> dict[str, Any]:
    hs = W.populate_raw(p)

    def cancel_all() -> None:
        for h in hs:
            h.cancel()

    return await _measure(p, cancel_all)


async def run_aioscheduler(p: Params) -> dict[str, Any]:
    async with S.aioscheduler_started() as s:
        hs = await W.populate_aioscheduler(p, s)
        if p.case == "timer":

            def cancel_timers() -> None:
                for h in hs:
                    h.cancel()

            return await _measure(p, cancel_timers)

        async def remove_jobs() -> None:
            for i in range(p.n):
                await s.remove(f"j{i}")
                if not i % 1000:
                    p.check(i, p.n, "removed")

        return await _measure(p, remove_jobs)


async def run_aps3(p: Params) -> dict[str, Any]:
    async with S.aps3_started() as s:
        hs = W.populate_aps3(p, s)

        def remove_all() -> None:
            for i, h in enumerate(hs):
                s.remove_job(h.id)
                if not i % 1000:
                    p.check(i, p.n, "removed")

        return await _measure(p, remove_all)


async def run_aps4(p: Params) -> dict[str, Any]:
    async with S.aps4_started() as s:
        ids = await W.populate_aps4(p, s)

        async def remove_all() -> None:
            for i, sid in enumerate(ids):
                await s.remove_schedule(sid)
                if not i % 1000:
                    p.check(i, p.n, "removed")

        return await _measure(p, remove_all)


async def run_aiocron(p: Params) -> dict[str, Any]:
    if p.case == "timer":
        raise NotApplicable("no one-shot API")
    crons = W.populate_aiocron(p)
    await settle()  # let the deferred start() calls run

    def stop_all() -> None:
        for c in crons:
            c.stop()

    return await _measure(p, stop_all)
