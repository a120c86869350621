"""Quickstart: a scheduler with a few jobs and a timer, on the in-memory store.

Run it with::

    python examples/quickstart.py              # until Ctrl-C
    python examples/quickstart.py --duration 5 # stop by itself after 5 s

Each firing prints one line with its scheduled and actual time and the lateness, e.g.::

    heartbeat      scheduled 12:00:01.000000  ran 12:00:01.000412  late   0.41 ms

Ctrl-C (or SIGTERM) stops the scheduler cleanly: running work finishes, nothing is left behind,
and the last line printed is ``stopped cleanly``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
from datetime import UTC, datetime

from aioscheduler import After, Scheduler, current_run

scheduler = Scheduler()


def report(name: str) -> None:
    """Print the current firing: scheduled time, actual start, lateness."""
    run = current_run()
    assert run is not None
    started = run.started_at or datetime.now(UTC)
    lateness = (started - run.scheduled_at).total_seconds() * 1000
    print(
        f"{name:<14} scheduled {run.scheduled_at:%H:%M:%S.%f}  ran {started:%H:%M:%S.%f}  "
        f"late {lateness:6.2f} ms",
        flush=True,
    )


@scheduler.every(seconds=1)
async def heartbeat() -> None:
    """An async job every second."""
    report("heartbeat")


@scheduler.cron("*/3 * * * * *")  # six fields: seconds first, every 3 s
def cron_every_3s() -> None:
    """A plain function: runs on a worker thread, so it may block."""
    time.sleep(0.01)
    report("cron */3s")


async def countdown(remaining: list[int]) -> float | None:
    """A timer: it returns its next delay, and None to end."""
    report(f"timer ({remaining[0]} left)")
    remaining[0] -= 1
    return 1.5 if remaining[0] > 0 else None


async def main(duration: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    async with scheduler:
        await scheduler.add(report, After(2.5), args=("one-shot",), id="one-shot")
        scheduler.call_later(0.5, countdown, [4])
        print("scheduler running; press Ctrl-C to stop", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration)
    print("stopped cleanly", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=None, help="stop after N seconds")
    asyncio.run(main(parser.parse_args().duration))
