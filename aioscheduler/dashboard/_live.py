"""Live updates: the scheduler's events, batched and pushed as server-sent events.

One batch at most every ``interval`` seconds carries the ids of the jobs that changed, the
failures (job id and error line) and the number of events it stands for; the page re-reads
the rows it names. A persistent store is also polled (other processes may change it, and a
scheduler that is not running emits nothing): a change there asks the page to resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from .._decorators import inline
from .._scheduler import Scheduler
from ..events import (
    ClockJumped,
    Event,
    JobEvent,
    RunEvent,
    RunFinished,
    SchedulerStarted,
    SchedulerStopped,
)
from ._views import FAILED, running_by_job

__all__ = ("LiveFeed", "fingerprint")

#: Job ids a batch may name; past it the page simply re-reads every row.
MAX_IDS = 500
#: Seconds between keep-alive comments (proxies close idle connections).
KEEPALIVE = 15.0


async def fingerprint(scheduler: Scheduler) -> str:
    """A digest of what the jobs page shows, to notice changes made elsewhere."""
    digest = hashlib.blake2b(digest_size=16)
    for job in await scheduler.jobs():
        last = job.last_run
        digest.update(
            f"{job.id}\0{job.next_run_at}\0{job.paused}\0"
            f"{last.finished_at if last else None}\0".encode()
        )
    running = await running_by_job(scheduler.store)  # leases come and go on other nodes
    digest.update(repr(sorted((running or {}).keys())).encode())
    return digest.hexdigest()


class LiveFeed:
    """One browser's stream: a subscription to the scheduler's events, drained in batches."""

    def __init__(self, scheduler: Scheduler, *, interval: float, poll: float | None) -> None:
        self._scheduler = scheduler
        self._interval = interval
        self._poll = poll
        self._ids: set[str] = set()
        self._failures: list[dict[str, str]] = []
        self._count = 0
        self._resync = False
        self._wake = asyncio.Event()
        self._seq = 0

    def _on_event(self, event: Event) -> None:
        # Runs for every event (possibly thousands a second): only set and count here.
        self._count += 1
        if isinstance(event, RunEvent):
            job_id = event.run.job_id
            if job_id is None:  # a timer: not on the page
                return
            self._ids.add(job_id)
            failed = isinstance(event, RunFinished) and event.run.outcome in FAILED
            if failed and len(self._failures) < 20:
                error = event.run.error
                text = f"{type(error).__name__}: {error}" if error else str(event.run.outcome)
                self._failures.append({"job": job_id, "error": text[:300]})
        elif isinstance(event, JobEvent):
            self._ids.add(event.job_id)
        elif isinstance(event, SchedulerStarted | SchedulerStopped | ClockJumped):
            self._resync = True
        if len(self._ids) > MAX_IDS:
            self._ids.clear()
            self._resync = True
        self._wake.set()

    def _message(self, event: str, data: dict[str, Any]) -> str:
        self._seq += 1
        return f"id: {self._seq}\nevent: {event}\ndata: {json.dumps(data)}\n\n"

    async def stream(self) -> AsyncIterator[str]:
        """Yield SSE text until the client goes away (the caller cancels the iteration)."""

        def on_event(event: Event) -> None:
            self._on_event(event)

        # on the loop, not a worker thread: it touches an asyncio.Event and takes microseconds
        sub = self._scheduler.subscribe(inline(on_event))
        dropped = 0
        last_print = ""
        next_poll = time.monotonic()
        try:
            # The page re-reads every row on each (re)connection: nothing missed stays stale.
            yield "retry: 2000\n" + self._message("hello", {"running": self._scheduler.running})
            while True:
                timeout = KEEPALIVE
                if self._poll is not None:
                    timeout = max(0.0, min(timeout, next_poll - time.monotonic()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                self._wake.clear()
                if self._poll is not None and time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + self._poll
                    current = await fingerprint(self._scheduler)
                    if last_print and current != last_print:
                        self._resync = True
                    last_print = current
                if sub.dropped != dropped:  # we fell behind: what we missed is unknown
                    dropped = sub.dropped
                    self._resync = True
                if not (self._ids or self._resync or self._count):
                    yield ": keep-alive\n\n"
                    continue
                data: dict[str, Any] = {
                    "jobs": sorted(self._ids),
                    "failures": self._failures,
                    "events": self._count,
                    "resync": self._resync,
                }
                self._ids, self._failures, self._count, self._resync = set(), [], 0, False
                yield self._message("update", data)
                # Let the next batch gather: the stream stays a few messages a second
                # however many firings there are.
                await asyncio.sleep(self._interval)
        finally:
            sub.cancel()
