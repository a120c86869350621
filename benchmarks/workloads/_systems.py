"""Start/stop each scheduler under test, configured fairly (see README "Peers").

Imports of a system's package happen inside its function, so this module loads in
every venv. The raw baseline needs no setup; ``RawJob`` is its recurring "job": a
``loop.call_at`` handle that re-arms itself at its nominal next time.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

# The same worker-thread limit for every system that offloads sync callables:
# anyio's default, which aioscheduler and APScheduler 4 both build on.
THREADS = 40
# "As many as you like": caps that would otherwise drop or queue fires.
UNLIMITED = 10**9

UTC = UTC
# A scheduler that cannot stop within this is reported (in the result's "notes").
STOP_TIMEOUT_S = 5.0
NOTES: list[str] = []


def dt(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, UTC)


# --- raw asyncio / uvloop -------------------------------------------------------------


class RawJob:
    """A recurring raw timer: fires ``fn(i, due)`` every ``interval`` from ``first``."""

    __slots__ = ("args", "due", "fn", "handle", "interval", "loop", "offset", "spawn")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        offset: float,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        first: float,
        interval: float,
        spawn: bool,
    ) -> None:
        self.loop, self.offset, self.fn, self.args = loop, offset, fn, args
        self.due, self.interval, self.spawn = first, interval, spawn
        self.handle = loop.call_at(first - offset, self.fire)

    def fire(self) -> None:
        due = self.due
        self.due = due + self.interval
        self.handle = self.loop.call_at(self.due - self.offset, self.fire)
        if self.spawn:
            self.loop.create_task(self.fn(*self.args, due))
        else:
            self.fn(*self.args, due)

    def cancel(self) -> None:
        self.handle.cancel()


# --- aioscheduler ---------------------------------------------------------------------


@asynccontextmanager
async def aioscheduler_started() -> AsyncIterator[Any]:
    from aioscheduler import Scheduler

    try:
        s = Scheduler(max_threads=THREADS)
    except TypeError:
        s = Scheduler(max_threads=None)
    await s.start()
    try:
        yield s
    finally:
        try:
            await asyncio.wait_for(s.stop(), STOP_TIMEOUT_S)
        except TimeoutError:
            NOTES.append(f"aioscheduler stop() did not return within {STOP_TIMEOUT_S:.0f}s")


def aioscheduler_adder(s: Any) -> Callable[..., Any]:
    """``add(fn, trigger, i, **kw)`` whether ``Scheduler.add`` takes ``args=`` or not."""
    params = inspect.signature(s.add).parameters
    if "args" in params:
        return lambda fn, trigger, i, **kw: s.add(fn, trigger, args=(i,), **kw)
    return lambda fn, trigger, i, **kw: s.add(partial(fn, i), trigger, **kw)


_current_run: Callable[[], Any] | None = None


def aioscheduler_intended() -> float | None:
    """Nominal due time of the running callback, per ``current_run()`` (None if absent).

    It runs inside the measured callback, so its cost adds to the lateness of the firings
    behind it: ``current_run`` is imported once, not on every call."""
    global _current_run
    try:
        if _current_run is None:
            from aioscheduler import current_run

            _current_run = current_run
        return float(_current_run().scheduled_at.timestamp())
    except Exception:
        return None


# --- APScheduler 3.11 -----------------------------------------------------------------


@asynccontextmanager
async def aps3_started() -> AsyncIterator[Any]:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    # Sync jobs go to the loop's default executor; give it the same thread limit.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(THREADS))
    s = AsyncIOScheduler(
        timezone=UTC,
        job_defaults={"max_instances": UNLIMITED, "misfire_grace_time": None, "coalesce": False},
    )
    s.start()
    try:
        yield s
    finally:
        s.shutdown(wait=False)
        await asyncio.sleep(0)


# --- APScheduler 4.0.0a6 --------------------------------------------------------------


@asynccontextmanager
async def aps4_started(executor: str = "async") -> AsyncIterator[Any]:
    from apscheduler import AsyncScheduler, TaskDefaults
    from apscheduler.executors.async_ import AsyncJobExecutor
    from apscheduler.executors.thread import ThreadPoolJobExecutor

    s = AsyncScheduler(
        max_concurrent_jobs=UNLIMITED,
        job_executors={
            "async": AsyncJobExecutor(),
            "threadpool": ThreadPoolJobExecutor(max_workers=THREADS),
        },
        task_defaults=TaskDefaults(
            job_executor=executor, max_running_jobs=None, misfire_grace_time=None
        ),
        cleanup_interval=None,
    )
    async with s:
        await s.start_in_background()
        yield s


def aps4_intended() -> float | None:
    from apscheduler import current_job

    t = current_job.get().scheduled_fire_time
    return None if t is None else t.timestamp()


def aps4_all() -> Any:
    from apscheduler import CoalescePolicy

    return CoalescePolicy.all


# --- aiocron 2.1 ----------------------------------------------------------------------


def aiocron_crontab(spec: str, fn: Callable[..., Any], *args: Any) -> Any:
    """A started crontab bound to the running loop (never to a module-level loop)."""
    import aiocron

    return aiocron.crontab(
        spec, func=fn, args=args, start=True, loop=asyncio.get_running_loop(), tz=UTC
    )


def now() -> float:
    return time.time()
