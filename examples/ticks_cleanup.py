"""Activity-driven cleanup: purge a cache every 100 requests, so a busy server cleans up more
often than a quiet one.

Run it with::

    python examples/ticks_cleanup.py     # simulated traffic on a FakeClock: instant

Each request caches an entry for about 25 s and calls ``scheduler.tick("requests")``; the
cleanup job (``Ticks(100, counter="requests", repeat=True)``) purges expired entries after every
100th request. The simulation serves a busy minute (10 requests/s), then two quiet ones
(2 requests/s): cleanups come every 10 s while busy and every 50 s when quiet. It prints one
line per cleanup::

    t= 10.0s  cleanup 1 after 100 requests: purged 0, kept 100
    t= 20.0s  cleanup 2 after 200 requests: purged 0, kept 200
    t= 30.0s  cleanup 3 after 300 requests: purged 50, kept 250
    ...
    t= 60.0s  cleanup 6 after 600 requests: purged 100, kept 250
    t=110.0s  cleanup 7 after 700 requests: purged 300, kept 50
    t=160.0s  cleanup 8 after 800 requests: purged 100, kept 50
    6 cleanups busy, 2 quiet
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aioscheduler import Scheduler, Ticks
from aioscheduler.testing import FakeClock

TTL = 24.95  # seconds a cache entry lives (just under 25: none expires exactly at a cleanup)
EVERY_N_REQUESTS = 100


class Cache:
    """A cache whose expired entries linger until someone purges them."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.expires: dict[int, datetime] = {}
        self.requests = 0
        self.cleanups: list[tuple[float, int, int]] = []  # (t, purged, kept)
        self.started = scheduler.clock.now()

    def handle_request(self) -> None:
        """One request: cache something, and count the activity."""
        self.requests += 1
        now = self.scheduler.clock.now()
        self.expires[self.requests] = now + timedelta(seconds=TTL)
        self.scheduler.tick("requests")

    async def purge(self) -> None:
        """The cleanup job."""
        now = self.scheduler.clock.now()
        expired = [key for key, when in self.expires.items() if when <= now]
        for key in expired:
            del self.expires[key]
        t = (now - self.started).total_seconds()
        self.cleanups.append((t, len(expired), len(self.expires)))
        print(
            f"t={t:5.1f}s  cleanup {len(self.cleanups)} after {self.requests} requests: "
            f"purged {len(expired)}, kept {len(self.expires)}",
            flush=True,
        )


async def simulate() -> Cache:
    """A busy minute (10 requests/s), then two quiet ones (2 requests/s)."""
    clock = FakeClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    scheduler = Scheduler(clock=clock)
    cache = Cache(scheduler)
    await scheduler.add(
        cache.purge, Ticks(EVERY_N_REQUESTS, counter="requests", repeat=True), id="purge-cache"
    )
    async with scheduler:
        for rate, seconds in ((10, 60), (2, 120)):
            for _ in range(rate * seconds):
                await clock.advance(1 / rate)
                cache.handle_request()
                await clock.advance(0)  # let a cleanup that just came due run
    busy = sum(1 for t, _, _ in cache.cleanups if t <= 60)
    print(f"{busy} cleanups busy, {len(cache.cleanups) - busy} quiet")
    return cache


if __name__ == "__main__":
    asyncio.run(simulate())
