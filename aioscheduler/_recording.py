"""Finished runs the store failed to record are kept and written again (issue 10, item 8).

A history write can fail for a while (disk full, database locked, a store server away). The
runs of a failed batch are not dropped: they go back to the front of the scheduler's queue of
finished runs and the write is tried again after a backoff (0.5 s doubling up to 30 s, on the
scheduler's clock), together with whatever finished meanwhile. At ``stop()`` the queue is
written with a few quick retries (real time, about 1.5 s in all, within the stop's own bound);
what still cannot be written is reported: an ERROR log line naming each run and
``SchedulerStopped.unrecorded``. Such a firing stays claimed in the store, so the next start
treats it as interrupted (see ``_attempts.py``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Literal

from ._clock import WakeHandle, to_datetime

if TYPE_CHECKING:
    from ._scheduler import Scheduler

__all__ = ("Recorder",)

logger = logging.getLogger("aioscheduler.scheduler")

#: Backoff between attempts while running (scheduler clock seconds).
RETRY_INITIAL = 0.5
RETRY_MAX = 30.0
#: Quick attempts at stop (real seconds slept before each retry).
STOP_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8)


class Recorder:
    """The retry state of one scheduler's history writes."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self.failures = 0  # consecutive failed writes
        self.unrecorded: list[str] = []  # runs given up on at stop, for SchedulerStopped
        self._stop_tries = 0
        self._timer: WakeHandle | None = None

    def succeeded(self) -> None:
        self._stop_tries = 0
        if self.failures:
            logger.warning(
                "recording finished runs works again after %d failed attempts", self.failures
            )
        self.failures = 0

    async def failed(
        self, pending: list[tuple[Any, Any]], error: Exception
    ) -> Literal["now", "later", "dropped"]:
        """A write of ``pending`` failed: keep it (``"now"``: retry at once, ``"later"``: a
        retry is armed) or, stopping and out of attempts, report and drop it."""
        scheduler = self._scheduler
        self.failures += 1
        if scheduler._stopping:
            self._stop_tries += 1
            if self._stop_tries <= len(STOP_DELAYS):
                await asyncio.sleep(STOP_DELAYS[self._stop_tries - 1])
                scheduler._releases[:0] = pending
                return "now"
            self._report(pending, error)
            return "dropped"
        scheduler._releases[:0] = pending
        delay = min(RETRY_MAX, RETRY_INITIAL * 2.0 ** min(self.failures - 1, 16))
        logger.error(
            "recording %d finished runs failed (attempt %d); retrying in %.1f s: %s",
            len(pending),
            self.failures,
            delay,
            error,
        )
        loop = scheduler._loop
        if loop is not None and self._timer is None:
            self._timer = scheduler._clock.call_at(
                loop, scheduler._clock.time() + delay, self._retry
            )
        return "later"

    def _retry(self) -> None:
        self._timer = None
        scheduler = self._scheduler
        if scheduler._releases and not scheduler._flush_pending and not scheduler._stopping:
            scheduler._schedule_flush()

    def cancel(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def _report(self, pending: list[tuple[Any, Any]], error: Exception) -> None:
        names = []
        for claim, _ in pending:
            names.append(f"job {claim.spec.id!r} at {to_datetime(claim.scheduled_at)}")
        self.unrecorded += names
        logger.error(
            "%d finished runs could not be recorded at stop() (%s): %s. A claimed firing "
            "among them stays claimed in the store and counts as interrupted at the next start",
            len(names),
            error,
            "; ".join(names),
        )
