"""Workload 6, self-rescheduling timers: N timers whose callback returns its next delay.

Delays cycle through a fixed pseudo-random table in [0.01, 0.1] s. Firings/s are
counted over ``duration`` seconds after a 0.3 s warm-up. The raw baseline re-arms
itself with ``loop.call_later`` (async case: the coroutine, started with
``create_task``, re-arms at its end). No peer has "return the next delay", so
peers are n/a.

Cases: ``async`` (``async def`` callback), ``sync`` (plain function: aioscheduler
runs it on a worker thread, raw on the loop), ``inline`` (aioscheduler only: a
plain function marked ``aioscheduler.inline``, run on the loop; compared with
raw ``sync``).
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from . import _systems as S
from ._common import NotApplicable, Params

_rng = random.Random(42)
DELAYS = [0.01 + 0.09 * _rng.random() for _ in range(1024)]
WARMUP_S = 0.3


class _St:
    count = 0
    stop = False


ST = _St()


def next_delay() -> float | None:
    c = ST.count
    ST.count = c + 1
    return None if ST.stop else DELAYS[c & 1023]


async def next_delay_async() -> float | None:
    return next_delay()


def next_delay_inline() -> float | None:
    return next_delay()


async def _observe(p: Params) -> dict[str, Any]:
    await asyncio.sleep(WARMUP_S)
    c0, t0 = ST.count, time.perf_counter()
    await asyncio.sleep(p.duration)
    c1, t1 = ST.count, time.perf_counter()
    ST.stop = True
    return {"per_s": (c1 - c0) / (t1 - t0), "fired": c1 - c0}


async def run_raw(p: Params) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    call_later, spawn = loop.call_later, loop.create_task
    ST.count, ST.stop = 0, False

    if p.case == "async":

        async def body() -> None:
            d = await next_delay_async()
            if d is not None:
                call_later(d, fire)

        def fire() -> None:
            spawn(body())
    else:

        def fire() -> None:
            d = next_delay()
            if d is not None:
                call_later(d, fire)

    for i in range(p.n):
        call_later(DELAYS[i & 1023], fire)
    return await _observe(p)


async def run_aioscheduler(p: Params) -> dict[str, Any]:
    ST.count, ST.stop = 0, False
    if p.case == "inline":
        from aioscheduler import inline

        fn: Any = inline(next_delay_inline)
    else:
        fn = next_delay_async if p.case == "async" else next_delay
    async with S.aioscheduler_started() as s:
        for i in range(p.n):
            s.call_later(DELAYS[i & 1023], fn)
        return await _observe(p)


async def _na(p: Params) -> dict[str, Any]:
    raise NotApplicable("no return-the-next-delay API")


run_aps3 = run_aps4 = run_aiocron = _na
