"""Schedulers for the CLI tests, loaded by ``aioscheduler run tests.cli.apps:...``."""

from __future__ import annotations

import asyncio

from aioscheduler import Every, Scheduler

scheduler = Scheduler()


@scheduler.every(seconds=0.05, id="fast")
async def fast() -> None:
    pass


@scheduler.cron("0 9 * * mon-fri", timezone="Europe/Berlin", id="digest", paused=True)
def digest() -> None:
    pass  # pragma: no cover - never due during the tests


slow = Scheduler()


@slow.every(seconds=0.05, id="slow", overlap="skip")
async def slow_job() -> None:
    """Runs for 1 s; says when it starts, finishes or is cancelled."""
    print("slow started", flush=True)
    try:
        await asyncio.sleep(1.0)
    except asyncio.CancelledError:
        print("slow cancelled", flush=True)
        raise
    print("slow finished", flush=True)


def make_scheduler() -> Scheduler:
    s = Scheduler()
    s.every(seconds=0.05, id="made-sync")(fast)
    return s


async def make_scheduler_async() -> Scheduler:
    s = Scheduler()
    await s.add(fast, Every(seconds=0.05), id="made-async")
    return s


def make_nothing() -> int:
    return 42


def make_failure() -> Scheduler:
    raise RuntimeError("config missing")


not_a_scheduler = 42


def send_digest() -> None:
    """A job function: naming it on the command line must never run it."""
    print("digest sent", flush=True)


very_slow = Scheduler()


@very_slow.every(seconds=0.05, id="very-slow", overlap="skip")
async def very_slow_job() -> None:
    """Runs for 30 s, so that a second, separate signal surely comes while it runs."""
    print("slow started", flush=True)
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        print("slow cancelled", flush=True)
        raise
    print("slow finished", flush=True)  # pragma: no cover - always cancelled in the tests


troubled = Scheduler()


@troubled.every(seconds=0.05, id="failing")
async def failing() -> None:
    raise RuntimeError("always fails")


@troubled.every(seconds=0.05, id="overlapping", overlap="skip")
async def overlapping() -> None:
    await asyncio.sleep(0.2)
