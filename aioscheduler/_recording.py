"""Recording finished runs: the queue of runs for the store, written in batches by one
internal task, the waiters of ``wait_run()`` and ``backfill()``, and the retries of a failed
write.

Finished runs the store failed to record are kept and written again (issue 10, item 8).

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
from collections.abc import Callable, Coroutine
from typing import Any, Literal, Protocol

from ._clock import Clock, WakeHandle, to_datetime
from ._cluster import Cluster
from ._events import EventHub
from ._firing import Firing
from ._values import Run
from .errors import StoreError
from .events import Event, JobRemoved
from .stores._base import Claim, ReleaseResult, Store
from .stores.memory import MemoryStore

__all__ = ("Recorder", "RecorderHost", "backfill_dropped")

logger = logging.getLogger("aioscheduler.scheduler")

#: Backoff between attempts while running (scheduler clock seconds).
RETRY_INITIAL = 0.5
RETRY_MAX = 30.0
#: Quick attempts at stop (real seconds slept before each retry).
STOP_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8)


class RecorderHost(Protocol):
    """What the recorder needs of the engine."""

    @property
    def stopping(self) -> bool:
        """Whether the scheduler is stopping (stop() writes what is left itself)."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The scheduler's loop, while it runs."""

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as an internal task."""

    def emit(self, event: Event) -> None:
        """Log and publish a lifecycle event."""


class Recorder:
    """The queue of finished runs of one scheduler and the retry state of its writes."""

    def __init__(
        self,
        host: RecorderHost,
        clock: Clock,
        store: Store,
        cluster: Cluster,
        hub: EventHub,
        job_ended: Callable[[str], None],
    ) -> None:
        self._host = host
        self._clock = clock
        self._store = store
        self._cluster = cluster
        self._hub = hub
        self._job_ended = job_ended  # a final run was stored: the job is gone
        self._releases: list[tuple[Claim, Run | Firing]] = []
        self._flush_pending = False
        self._run_waiters: dict[str, list[asyncio.Future[Run]]] = {}
        #: ``backfill()`` calls waiting for their firing's run, by ``id(claim)``.
        self.backfills: dict[int, asyncio.Future[Run]] = {}
        self.failures = 0  # consecutive failed writes
        self.unrecorded: list[str] = []  # runs given up on at stop, for SchedulerStopped
        self._stop_tries = 0
        self._timer: WakeHandle | None = None
        #: the plain memory store is written in a loop callback, not a task (_flush_direct)
        self._direct = type(store) is MemoryStore
        self._flush_handle: asyncio.Handle | None = None

    # -- the queue -------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Finished runs waiting to be written."""
        return len(self._releases)

    @property
    def flushing(self) -> bool:
        """Whether a write is on its way (a task, or a loop callback: ``_flush_direct``)."""
        return self._flush_pending

    def job_finished(self, claim: Claim, run: Run | Firing, *, final: bool = True) -> None:
        """Queue a finished firing for the store (its Run is built at flush time, off the
        path of runs that are about to start)."""
        if not final and claim.final:
            claim = claim._replace(final=False)
        if claim.backfill:
            fut = self.backfills.pop(id(claim), None)  # wake its backfill()
            if fut is not None and not fut.done():
                fut.set_result(run.to_run() if isinstance(run, Firing) else run)
        self._releases.append((claim, run))
        if not self._flush_pending and not self._host.stopping:  # stop() records them itself
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        self._flush_pending = True
        loop = self._host.loop
        if self._direct and loop is not None:
            # the same turn of the loop as a task's first step, without the task
            self._flush_handle = loop.call_soon(self._flush_direct)
        else:
            self._host.spawn(self.flush())

    def _flush_direct(self) -> None:
        """:meth:`flush` in a loop callback, for the plain :class:`MemoryStore`, whose
        ``release`` never blocks (nothing in it awaits): no task per batch of finished runs
        (measured on 10,000 jobs every second, ~4.6 runs a batch: see the devnote
        2026-11-28-s5/issue-11-rounds). A failed write (a bug: that store does not fail) goes
        the general way, with its backoff and reports: :meth:`flush` in a task writes the
        batch again."""
        self._flush_handle = None
        store = self._store
        assert isinstance(store, MemoryStore)
        release = store.release_now
        releasable = self._cluster.releasable
        try:
            while self._releases:
                pending, self._releases = self._releases, []
                pending = releasable(pending)
                try:
                    release(pending)
                except Exception:
                    self._releases[:0] = pending
                    self._host.spawn(self.flush())  # _flush_pending stays set
                    return
                if self.failures:
                    self.succeeded()
                self._cluster.released(pending, None)
                self._stored(pending, True)
        except Exception as exc:  # a bug: it crashes the scheduler, as from flush()'s task
            self._flush_pending = False
            self._host.spawn(_reraise(exc))
            return
        except BaseException:
            self._flush_pending = False
            raise
        self._flush_pending = False

    async def flush(self) -> None:
        """Write the queued runs (and what finishes meanwhile) to the store, then wake the
        ``wait_run()`` waiters."""
        try:
            while self._releases:
                pending, self._releases = self._releases, []
                # runs whose lease was fenced or handed over at stop are not sent (_cluster.py)
                pending = self._cluster.releasable(pending)
                stored = True
                try:
                    result = await self._release(pending)
                except Exception as exc:  # kept and written again: see the module docstring
                    stored = False
                    if (retry := await self.failed(pending, exc)) == "later":
                        return
                    if retry == "now":
                        continue
                else:
                    self.succeeded()
                    self._cluster.released(pending, result)
                self._stored(pending, stored)
        finally:
            self._flush_pending = False

    def _stored(self, pending: list[tuple[Claim, Run | Firing]], stored: bool) -> None:
        """A batch was written (``stored``) or dropped: wake its ``wait_run()`` waiters, end
        the jobs whose final run it held."""
        waiting = self._run_waiters
        if not waiting and not self._hub.active:
            # the common case, one short pass: no wait_run() to wake, no JobRemoved
            # to emit (a retried run is not final: claim_final() cleared its flag)
            if stored:
                job_ended = self._job_ended
                for claim, _ in pending:
                    if claim.final:
                        job_ended(claim.spec.id)
            return
        retried = {i for i, (_, run) in enumerate(pending) if getattr(run, "retrying", 0)}
        for i, (claim, run) in enumerate(pending):
            if i in retried:  # wait_run() returns the firing's final attempt
                continue
            # waiters wake once the store has the run, so get(id).last_run shows it
            waiters = waiting.pop(claim.spec.id, None) if waiting else None
            for fut in waiters or ():
                if not fut.done():
                    fut.set_result(run.to_run() if isinstance(run, Firing) else run)
            if claim.final and stored:
                self._job_ended(claim.spec.id)
                if self._hub.active:
                    self._host.emit(JobRemoved(at=self._clock.now(), job_id=claim.spec.id))

    async def _release(self, pending: list[tuple[Claim, Run | Firing]]) -> ReleaseResult | None:
        """Hand ``pending`` to the store. The built-in memory store takes a finished
        :class:`Firing` as it is (it keeps plain records, and builds the ``Run`` only when the
        history is read); any other store gets ``Run`` objects. Measured at 1e5 burst firings:
        building a ``Run`` per firing was ~12% of a firing's cost (benchmarks/RESULTS.md)."""
        store = self._store
        if type(store) is MemoryStore:
            await store.release(pending)  # its release returns nothing to report
            return None
        return await store.release(
            [(claim, run.to_run() if isinstance(run, Firing) else run) for claim, run in pending]
        )

    async def write_pending(self, deadline: float | None, within: Any) -> None:
        """At stop: write what is queued, in this task (bounded by ``deadline``)."""
        handle, self._flush_handle = self._flush_handle, None
        if handle is not None:  # a direct flush not run yet: written here instead
            handle.cancel()
            self._flush_pending = False
        if self._releases and not self._flush_pending:
            count = len(self._releases)
            if not await within(deadline, self.flush()):
                logger.error("recording %d finished runs did not finish at stop()", count)

    # -- wait_run() ------------------------------------------------------------------------------

    async def wait_run(self, job_id: str, timeout: float | None) -> Run:
        """Wait for the next recorded run of ``job_id`` (see ``Scheduler.wait_run``)."""
        fut: asyncio.Future[Run] = asyncio.get_running_loop().create_future()
        self._run_waiters.setdefault(job_id, []).append(fut)
        try:
            async with asyncio.timeout(timeout):
                return await fut
        finally:
            waiters = self._run_waiters.get(job_id)
            if waiters and fut in waiters:
                waiters.remove(fut)

    def cancel_waiters(self) -> None:
        """The scheduler stopped: every ``wait_run()`` ends cancelled."""
        for waiters in self._run_waiters.values():
            for fut in waiters:
                if not fut.done():
                    fut.cancel()
        self._run_waiters.clear()

    # -- failed writes ---------------------------------------------------------------------------

    def succeeded(self) -> None:
        self._stop_tries = 0
        if self.failures:
            logger.warning(
                "recording finished runs works again after %d failed attempts", self.failures
            )
            self._cluster.outage.ok()  # an outage this write noticed first ends here too
        self.failures = 0

    async def failed(
        self, pending: list[tuple[Any, Any]], error: Exception
    ) -> Literal["now", "later", "dropped"]:
        """A write of ``pending`` failed: keep it (``"now"``: retry at once, ``"later"``: a
        retry is armed) or, stopping and out of attempts, report and drop it."""
        self.failures += 1
        if self._host.stopping:
            self._stop_tries += 1
            if self._stop_tries <= len(STOP_DELAYS):
                await asyncio.sleep(STOP_DELAYS[self._stop_tries - 1])
                self._releases[:0] = pending
                return "now"
            self._report(pending, error)
            return "dropped"
        self._releases[:0] = pending
        if isinstance(error, StoreError):
            # an outage, whichever call noticed it first: StoreUnavailable now, StoreRecovered
            # at the first store call that works (a wiped Redis may be noticed here only)
            self._cluster.outage.failed(error, "recording finished runs")
        delay = min(RETRY_MAX, RETRY_INITIAL * 2.0 ** min(self.failures - 1, 16))
        logger.error(
            "recording %d finished runs failed (attempt %d); retrying in %.1f s: %s",
            len(pending),
            self.failures,
            delay,
            error,
        )
        loop = self._host.loop
        if loop is not None and self._timer is None:
            self._timer = self._clock.call_at(loop, self._clock.time() + delay, self._retry)
        return "later"

    def _retry(self) -> None:
        self._timer = None
        if self._releases and not self._flush_pending and not self._host.stopping:
            self._schedule_flush()

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


async def _reraise(error: Exception) -> None:
    """Raise ``error`` in an internal task: the supervising group stops the scheduler with it."""
    raise error


def backfill_dropped(waiting: dict[int, asyncio.Future[Run]], firing: Firing) -> None:
    """A pending firing was dropped with its job: end a ``backfill()`` waiting for it."""
    if firing.claim is not None:
        fut = waiting.pop(id(firing.claim), None)
        if fut is not None:
            fut.cancel()
