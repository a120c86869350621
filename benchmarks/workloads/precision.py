"""Workload 3, precision: fired % of expected and lateness p50 / p99 / max.

Lateness = callback start (``time.time()``) - intended time. The intended time is
the one the system reports where it can (aioscheduler ``current_run().scheduled_at``,
APS4 ``current_job.get().scheduled_fire_time``, raw: the due time it armed);
APScheduler 3 and aiocron expose none, but both fire every slot of a job in
order (APS3 with coalesce off and no misfire limit; aiocron steps its cron
iterator one slot per firing), so the k-th firing of job i is meant for its
first slot + k periods: APS3's first slot is ``job.next_run_time`` right after
``add_job``; aiocron's is the second after ``Cron.time`` (when it started).

Cases:
  ``oneshot`` N one-shots spread uniformly over ``duration`` s (3 s; quick: 1 s)
              (timers; date jobs for APS).
  ``aligned`` N jobs every 1 s on the whole second (cron ``* * * * * *``; raw: a
              self re-arming ``call_at``) observed for ``duration`` seconds.
  ``fast``    N jobs every 100 ms with phases spread over the period.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from . import _systems as S
from ._common import NotApplicable, Params, quantiles_ms, wall_to_loop

_EST_PER_ITEM = {
    "raw": 4e-6,
    "aioscheduler": 40e-6,
    "aps3": 60e-6,
    "aps4": 120e-6,
    "aiocron": 40e-6,
}
FAST_INTERVAL = 0.1

REC: list[tuple[int, float, float | None]] = []


async def rec_raw(i: int, due: float) -> None:
    REC.append((i, time.time(), due))


FIRST: list[float] = []
COUNT: list[int] = []
CRONS: list[Any] = []
INTERVAL = [0.0]


async def rec_counted(i: int) -> None:
    t = time.time()
    k = COUNT[i]
    COUNT[i] = k + 1
    if k == 0 and CRONS:
        FIRST[i] = math.floor(CRONS[i].time) + 1.0
    REC.append((i, t, FIRST[i] + k * INTERVAL[0]))


async def rec_aioscheduler(i: int) -> None:
    REC.append((i, time.time(), S.aioscheduler_intended()))


async def rec_aps4(i: int) -> None:
    REC.append((i, time.time(), S.aps4_intended()))


# --- the plan each system follows -----------------------------------------------------


class Plan:
    """When each item is meant to fire, and which firings count."""

    def __init__(self, p: Params) -> None:
        self.p = p
        self.n = p.n
        now = time.time()
        lead = 0.5 + p.n * _EST_PER_ITEM[p.system]
        if p.case == "oneshot":
            self.t0 = now + lead
            self.intended = [self.t0 + p.duration * i / p.n for i in range(p.n)]
            self.interval = 0.0
        elif p.case == "aligned":
            self.t0 = math.ceil(now)
            self.interval = 1.0
        else:  # fast: job i's grid starts at base + i/N of a period
            self.t0 = now + lead
            self.interval = FAST_INTERVAL
        self.w0 = self.w1 = self.setup_done = 0.0

    def phase(self, i: int) -> float:
        if self.p.case == "aligned":
            return 0.0
        return self.t0 + self.interval * i / self.n

    def open_window(self, setup_done: float) -> float:
        """Start observing once set up; return the wall time to stop waiting at."""
        self.setup_done = setup_done
        if self.p.case == "oneshot":
            self.w0, self.w1 = self.t0, self.t0 + self.p.duration
            return self.w1 + 2.0
        if self.p.case == "aligned":
            self.w0 = float(math.ceil(setup_done + 0.3))
        else:
            self.w0 = max(setup_done, self.t0) + 0.3
        self.w1 = self.w0 + self.p.duration
        return self.w1 + min(0.5, 5 * self.interval) + 0.1

    def slots(self, i: int) -> tuple[int, int]:
        """Slot numbers k (due at phase + k * interval) of job i inside the window."""
        ph = self.phase(i)
        return (
            math.ceil((self.w0 - ph) / self.interval - 1e-9),
            math.ceil((self.w1 - ph) / self.interval - 1e-9),
        )

    def expected(self) -> int:
        if self.p.case == "oneshot":
            return self.n
        return sum(max(0, k1 - k0) for k0, k1 in map(self.slots, range(self.n)))

    def summarize(self, setup_s: float) -> dict[str, Any]:
        lat: list[float] = []
        seen: set[tuple[int, int]] = set()
        dups = 0
        ctx_gap = 0.0
        window = [self.slots(i) for i in range(self.n)] if self.interval else []
        for i, t, ctx in REC:
            if self.p.case == "oneshot":
                intended = self.intended[i]
                if ctx is not None:
                    ctx_gap = max(ctx_gap, abs(ctx - intended))
                key = (i, 0)
            else:
                intended = ctx if ctx is not None else t
                k = round((intended - self.phase(i)) / self.interval)
                k0, k1 = window[i]
                if not k0 <= k < k1:
                    continue
                key = (i, k)
            if key in seen:
                dups += 1
                continue
            seen.add(key)
            lat.append(t - intended)
        expected = self.expected()
        res: dict[str, Any] = {
            "expected": expected,
            "fired": len(seen),
            "dups": dups,
            "fired_pct": 100.0 * len(seen) / max(expected, 1),
            "setup_s": setup_s,
            **quantiles_ms(lat),
        }
        if self.p.case == "oneshot":
            res["overran_s"] = max(0.0, self.setup_done - self.t0)
        if ctx_gap:
            res["ctx_gap_ms"] = ctx_gap * 1000
        return res

    async def observe(self, setup_done: float) -> None:
        stop_at = self.open_window(setup_done)
        deadline = time.time() + self.p.remaining() - 1.0
        while time.time() < min(stop_at, deadline):
            if self.p.case == "oneshot" and len(REC) >= self.n:
                break
            await asyncio.sleep(0.05)


async def _run(p: Params, setup: Any) -> dict[str, Any]:
    REC.clear()
    plan = Plan(p)
    FIRST[:] = [0.0] * p.n
    COUNT[:] = [0] * p.n
    CRONS.clear()
    INTERVAL[0] = plan.interval
    t0 = time.perf_counter()
    r = setup(plan)
    if asyncio.iscoroutine(r):
        await r
    setup_s = time.perf_counter() - t0
    await plan.observe(time.time())
    return plan.summarize(setup_s)


# --- systems --------------------------------------------------------------------------


async def run_raw(p: Params) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    off = wall_to_loop(loop)
    spawn = loop.create_task
    keep: list[Any] = []

    def fire(i: int, due: float) -> None:
        spawn(rec_raw(i, due))

    def setup(plan: Plan) -> None:
        if p.case == "oneshot":
            for i in range(p.n):
                keep.append(loop.call_at(plan.intended[i] - off, fire, i, plan.intended[i]))
            return
        for i in range(p.n):
            first = plan.phase(i) + (plan.t0 if p.case == "aligned" else 0.0)
            keep.append(S.RawJob(loop, off, rec_raw, (i,), first, plan.interval, True))

    return await _run(p, setup)


async def run_aioscheduler(p: Params) -> dict[str, Any]:
    import aioscheduler as A

    async with S.aioscheduler_started() as s:
        add = S.aioscheduler_adder(s)

        async def setup(plan: Plan) -> None:
            for i in range(p.n):
                if p.case == "oneshot":
                    s.call_at(S.dt(plan.intended[i]), rec_aioscheduler, i)
                elif p.case == "aligned":
                    await add(
                        rec_aioscheduler,
                        A.Cron("* * * * * *"),
                        i,
                        id=f"p{i}",
                        overlap="allow",
                        coalesce=False,
                    )
                else:
                    await add(
                        rec_aioscheduler,
                        A.Every(seconds=plan.interval, start_at=S.dt(plan.phase(i))),
                        i,
                        id=f"p{i}",
                        overlap="allow",
                        coalesce=False,
                    )
                if not i % 1000:
                    p.check(i, p.n)

        return await _run(p, setup)


async def run_aps3(p: Params) -> dict[str, Any]:
    async with S.aps3_started() as s:

        def setup(plan: Plan) -> None:
            for i in range(p.n):
                if p.case == "oneshot":
                    job = s.add_job(
                        rec_counted, "date", run_date=S.dt(plan.intended[i]), args=(i,), id=f"p{i}"
                    )
                elif p.case == "aligned":
                    job = s.add_job(rec_counted, "cron", second="*", args=(i,), id=f"p{i}")
                else:
                    job = s.add_job(
                        rec_counted,
                        "interval",
                        seconds=plan.interval,
                        start_date=S.dt(plan.phase(i)),
                        args=(i,),
                        id=f"p{i}",
                    )
                FIRST[i] = job.next_run_time.timestamp()
                if not i % 1000:
                    p.check(i, p.n)

        return await _run(p, setup)


async def run_aps4(p: Params) -> dict[str, Any]:
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.date import DateTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    async with S.aps4_started() as s:

        async def setup(plan: Plan) -> None:
            for i in range(p.n):
                if p.case == "oneshot":
                    trig: Any = DateTrigger(S.dt(plan.intended[i]))
                elif p.case == "aligned":
                    trig = CronTrigger(second="*", timezone=S.UTC)
                else:
                    trig = IntervalTrigger(seconds=plan.interval, start_time=S.dt(plan.phase(i)))
                await s.add_schedule(rec_aps4, trig, args=(i,), id=f"p{i}", coalesce=S.aps4_all())
                if not i % 1000:
                    p.check(i, p.n)

        return await _run(p, setup)


async def run_aiocron(p: Params) -> dict[str, Any]:
    if p.case != "aligned":
        raise NotApplicable("not cron-shaped")

    def setup(plan: Plan) -> None:
        for i in range(p.n):
            CRONS.append(S.aiocron_crontab("* * * * * *", rec_counted, i))
            if not i % 1000:
                p.check(i, p.n)

    try:
        return await _run(p, setup)
    finally:
        for c in CRONS:
            c.stop()
