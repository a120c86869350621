"""The runs of each job in this process: the overlap policy, the backlog, and what a finished
run leads to (a retry, a pause after failures, a queued run, the next backlog firing).

:class:`JobRuns` decides; the :class:`~aioscheduler._runner.Runner` starts and cancels tasks
(the ``admit``/``cancel`` callables it is given) and the :class:`RunSink` takes the finished
runs (to the store, to the dispatcher's heap for a retry, to a pause).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ._attempts import lost_reason, over_budget
from ._backlog import Backlog
from ._clock import Clock, to_datetime
from ._events import EventHub
from ._firing import Firing
from ._logs import log_failure
from ._timers import Timer
from ._values import Outcome, Run
from .events import RunFinished, RunLost, RunMissed, RunSkipped
from .stores._base import Claim, Store

__all__ = ("JobRuns", "RunSink")

logger = logging.getLogger("aioscheduler.runner")
_DEBUG = functools.partial(logger.isEnabledFor, logging.DEBUG)


class RunSink(Protocol):
    """What the runner hands on: finished runs, retries, pauses, a timer's next due time."""

    @property
    def stopping(self) -> bool:
        """Whether the scheduler is stopping (no retry, no reschedule, no queued start)."""

    def job_finished(self, claim: Claim, run: Run | Firing, *, final: bool = True) -> None:
        """Queue a finished (or skipped, missed, cancelled) firing for the store."""

    def schedule_retry(self, claim: Claim, attempt: int, due: float) -> None:
        """Run ``claim`` again as attempt ``attempt`` at ``due``."""

    def pause_after_failures(self, job_id: str, failures: int) -> None:
        """Pause the job: it failed ``failures`` times in a row."""

    def reschedule_timer(self, timer: Timer, due: float) -> None:
        """Put ``timer`` back on the heap at ``due``."""


SPARE_STATES = 256  #: at most this many idle :class:`_JobState` kept for reuse


class _JobState:
    """Runtime state of one job in this process: its running firings and overlap queue."""

    __slots__ = ("failures", "queued", "running")

    def __init__(self) -> None:
        self.running: set[Firing] = set()
        self.queued: Firing | None = None
        self.failures = 0


class JobRuns:
    """Per-job bookkeeping of one runner (see the module docstring)."""

    def __init__(
        self,
        clock: Clock,
        hub: EventHub,
        store: Store,
        sink: RunSink,
        admit: Callable[[Firing], None],
        cancel: Callable[[Firing, str], None],
    ) -> None:
        self._clock = clock
        self._hub = hub
        self._store = store
        self._sink = sink
        self._admit = admit
        self._cancel = cancel
        self._jobs: dict[str, _JobState] = {}
        self._spare: list[_JobState] = []  # idle states to reuse: no allocation per firing
        self._backlog = Backlog()  # coalesce=False catch-up: one at a time, in order
        #: Firings waiting in backlog chains, and how many chained firings left one so far
        #: (the dispatcher's back-pressure reads both: see ``Dispatcher.run``).
        self.chained = 0
        self.unchained = 0
        self._taking = False  # finish_and_take_next(): hand the next backlog firing back
        self._taken: Firing | None = None
        self.node_name: str | None = None
        #: The store counts failures for pause_after_failures over every node (shared stores).
        self.store_counts_failures = store.counts_failures

    def __len__(self) -> int:
        """Jobs with runs in this process (running, queued, in a backlog, or failing)."""
        return len(self._jobs)

    # -- a claimed firing comes in ---------------------------------------------------------------

    def fire_claim(self, claim: Claim, attempt: int = 1) -> None:
        """Apply the overlap policy to a claimed firing: admit it, queue it, or report it."""
        firing = Firing(claim.run_at, None, claim, attempt, self.node_name)
        if not claim.run:
            reason = (
                "lost: its node stopped mid-run (delivery='at-most-once')"
                if claim.lost
                else "missed its misfire grace"
            )
            self.report_not_run(firing, Outcome.MISSED, reason)
            return
        if claim.attempt > 1 and over_budget(self._store, claim.spec, attempt):
            firing.attempt -= 1  # a crash loop (see _attempts): report the attempt lost
            self.report_not_run(firing, Outcome.MISSED, lost_reason(claim.spec, firing.attempt))
            return
        spec = claim.spec
        state = self._jobs.get(spec.id)
        if state is None:
            spare = self._spare
            state = self._jobs[spec.id] = spare.pop() if spare else _JobState()
        if (
            not spec.options.coalesce
            and claim.claimed
            and self._backlog.hold(firing, self._clock.time(), bool(state.running))
        ):
            self.chained += 1
            return  # a backlog firing: it starts when the job's previous run has finished
        if state.running or claim.running:  # claim.running: runs of this job on other nodes
            overlap = spec.options.overlap
            if overlap == "skip":
                self.report_not_run(firing, Outcome.SKIPPED, "previous run still running")
                return
            if overlap == "queue" and state.running:
                if state.queued is not None:
                    self.report_not_run(firing, Outcome.SKIPPED, "a run is already queued")
                    return
                state.queued = firing
                return
            if overlap == "replace":
                for old in list(state.running):  # cancel may finish (and remove) a waiting one
                    self._cancel(old, "replaced by a newer run")
                self._jobs[spec.id] = state  # finish() may have dropped an idle state
            elif (limit := spec.options.max_instances) is not None and (
                len(state.running) + claim.running >= limit
            ):
                self.report_not_run(
                    firing, Outcome.SKIPPED, f"max_instances={limit} runs already running"
                )
                return
        state.running.add(firing)
        self._admit(firing)

    def cancel_claim(self, claim: Claim, reason: str) -> bool:
        """Cancel the run (running, queued or waiting) of a claimed firing; False if none."""
        state = self._jobs.get(claim.spec.id)
        if state is None:
            return False
        for firing in list(state.running):
            if firing.claim is claim:
                self._cancel(firing, reason)
                return True
        queued = state.queued
        if queued is not None and queued.claim is claim:
            state.queued = None
            self.finish(queued, Outcome.CANCELLED, None, None, reason)
            return True
        return False

    # -- outcomes ------------------------------------------------------------------------------

    def report_not_run(self, firing: Firing, outcome: Outcome, reason: str) -> None:
        """A firing that did not run (skipped, missed, lost): log, emit, record."""
        assert firing.claim is not None
        now = self._clock.time()
        run = firing.snapshot(outcome, now, reason=reason)
        extra = {"job_id": firing.job_id, "attempt": firing.attempt, "missed": firing.missed}
        if reason.startswith("lost:"):
            logger.error("job %r firing %s", firing.job_id, reason, extra=extra)
            event: RunMissed | RunSkipped = RunLost(at=to_datetime(now), run=run)
        elif outcome is Outcome.MISSED:
            logger.warning(
                "job %r missed %d firing(s) due at %s (%s)",
                firing.job_id,
                firing.missed,
                run.scheduled_at,
                reason,
                extra=extra,
            )
            event = RunMissed(at=to_datetime(now), run=run)
        else:
            logger.info("job %r firing skipped: %s", firing.job_id, reason, extra=extra)
            event = RunSkipped(at=to_datetime(now), run=run)
        if self._hub.active:
            self._hub.emit(event)
        self._sink.job_finished(firing.claim, run)

    def finish(
        self,
        firing: Firing,
        outcome: Outcome,
        result: Any,
        error: BaseException | None,
        reason: str | None,
    ) -> None:
        """A job run ended: record it, then retry, pause, or start what waited for it."""
        spec = firing.spec
        claim = firing.claim
        assert spec is not None and claim is not None
        now = self._clock.time()
        if outcome is Outcome.SUCCESS and not self._hub.active and not _DEBUG():
            # the common case, kept short: nothing to log, emit, retry or pause
            firing.outcome = outcome
            firing.finished, firing.result, firing.reason = now, result, reason
            state = self._jobs.get(spec.id)
            if state is not None:
                state.running.discard(firing)
                state.failures = 0
            self._sink.job_finished(claim, firing)
            if state is not None:
                self._after_run(spec.id, state)
            return
        if outcome is Outcome.CANCELLED and reason is None:
            reason = "scheduler stopped"
        firing.outcome, firing.finished, firing.result = outcome, now, result
        firing.error, firing.reason = error, reason
        state = self._jobs.get(spec.id)
        if state is not None:
            state.running.discard(firing)
        failed = outcome is Outcome.ERROR or outcome is Outcome.TIMEOUT
        options = spec.options
        sink = self._sink
        retrying = (
            failed
            and state is not None
            and firing.attempt <= options.retries
            and isinstance(error, options.retry_on)
            and not sink.stopping
        )
        delay = options.backoff.delay(firing.attempt) if retrying else 0.0
        firing.retrying = retrying
        if failed:
            log_failure(logger, firing, outcome, error, delay if retrying else None)
        elif logger.isEnabledFor(logging.DEBUG):
            logger.debug("job %r ran: %s", spec.id, outcome.value, extra=_log_extra(firing))
        if self._hub.active:
            self._hub.emit(RunFinished(at=to_datetime(now), run=firing.to_run()))
        if failed and state is not None:
            if retrying:
                sink.schedule_retry(claim, firing.attempt + 1, now + delay)
            else:
                state.failures += 1
                k = options.pause_after_failures
                if k is not None and state.failures >= k and not self.store_counts_failures:
                    state.failures = 0
                    sink.pause_after_failures(spec.id, k)
        elif outcome is Outcome.SUCCESS and state is not None:
            state.failures = 0
        sink.job_finished(claim, firing, final=not retrying)
        if state is not None:
            self._after_run(spec.id, state)

    def finish_batch(self, batch: list[Firing], done: Callable[[Firing], None] | None) -> None:
        """Finish every firing of ``batch`` (their outcome set on them), then ``done`` each
        (``None``: the caller does that for the whole batch).
        A plain success (nothing to log, emit, retry or pause) takes a short path: measured
        with benchmarks/profile_firing.py, one call chain less per firing."""
        simple = not self._hub.active and not _DEBUG()
        now = self._clock.time()
        jobs = self._jobs
        job_finished = self._sink.job_finished
        success = Outcome.SUCCESS
        backlog = self._backlog
        spare = self._spare
        for firing in batch:
            try:
                if simple and firing.outcome is success:
                    firing.finished = now
                    firing.reason = firing.cancel_reason
                    claim = firing.claim
                    assert claim is not None
                    job_id = claim.spec.id
                    state = jobs.get(job_id)
                    if state is not None:
                        state.running.discard(firing)
                        state.failures = 0
                    job_finished(claim, firing)
                    if state is not None and not state.running:
                        if state.queued is None and not backlog.active(job_id):
                            del jobs[job_id]  # _after_run()'s common case, without the call
                            if len(spare) < SPARE_STATES:  # clean: nothing runs, waits, failed
                                spare.append(state)
                        else:
                            self._after_run(job_id, state)
                else:
                    self.finish(
                        firing, firing.outcome, firing.result, firing.error, firing.cancel_reason
                    )
            except Exception:  # pragma: no cover - a bug here must not lose the other runs
                logger.exception("recording the outcome of %r failed", firing.job_id)
            finally:
                if done is not None:
                    done(firing)

    def _after_run(self, job_id: str, state: _JobState) -> None:
        """A run of ``job_id`` was recorded: start its queued or next backlog firing, or drop
        its state once nothing of it is left."""
        if state.running:
            return
        queued = state.queued
        if queued is not None:
            state.queued = None
            if self._sink.stopping:
                self.finish(queued, Outcome.CANCELLED, None, None, "scheduler stopped")
            else:
                state.running.add(queued)
                self._admit(queued)
        if not state.running and self._backlog.active(job_id):
            self._next_in_backlog(job_id, state)
        if not state.running and state.queued is None and not state.failures:
            del self._jobs[job_id]

    def _next_in_backlog(self, job_id: str, state: _JobState) -> None:
        """Start the job's next backlog firing (see ``_backlog.py``); one that waited past its
        misfire grace is reported missed instead."""
        if self._sink.stopping:
            return  # drop_queued() reports the waiting ones cancelled
        while (nxt := self._backlog.pop(job_id)) is not None:
            self.chained -= 1
            self.unchained += 1
            assert nxt.spec is not None
            grace = nxt.spec.options.misfire_grace
            if grace is not None and self._clock.time() - nxt.due > grace:
                nxt.missed = 1
                self.report_not_run(nxt, Outcome.MISSED, "waited past its misfire grace")
                continue
            state.running.add(nxt)
            if self._taking:
                self._taken = nxt
            else:
                self._admit(nxt)
            return

    def backlog_waits(self, job_id: str) -> bool:
        """Whether firings of job ``job_id`` wait in its backlog chain."""
        return self._backlog.waiting(job_id)

    def finish_and_take_next(self, firing: Firing) -> Firing | None:
        """Finish ``firing`` (its outcome set on it) and return its job's next backlog firing,
        counted as running, for the caller to start itself (``None``: none may start now; it
        is then started, or reported, the usual way)."""
        self._taking = True
        try:
            self.finish_batch([firing], None)
        finally:
            self._taking = False
        nxt, self._taken = self._taken, None
        return nxt

    def forget(self, job_id: str) -> None:
        """The job was removed: drop its queued firing; its state goes once nothing runs."""
        for waiting in self._backlog.drop(job_id):
            self.chained -= 1
            self.finish(waiting, Outcome.SKIPPED, None, None, "job removed")
        state = self._jobs.get(job_id)
        if state is None:
            return
        queued, state.queued = state.queued, None
        if queued is not None:  # it never ran: reported like any skipped firing
            self.report_not_run(queued, Outcome.SKIPPED, "job removed")
        state.failures = 0
        if not state.running:
            self._jobs.pop(job_id, None)

    def drop_queued(self) -> None:
        """Report backlog and queued firings as cancelled (the scheduler is stopping)."""
        for firing in self._backlog.drop_all():
            self.chained -= 1
            self.finish(firing, Outcome.CANCELLED, None, None, "scheduler stopped")
        for state in list(self._jobs.values()):
            queued, state.queued = state.queued, None
            if queued is not None:
                self.finish(queued, Outcome.CANCELLED, None, None, "scheduler stopped")

    def states(self) -> Mapping[str, object]:
        """Job id -> state of each job with runs here: the same dict for life, read-only."""
        return self._jobs


def _log_extra(firing: Firing) -> dict[str, Any]:
    claim = firing.claim
    lateness = (
        None if firing.started is None or claim is None else firing.started - claim.scheduled_at
    )
    return {"job_id": firing.job_id, "attempt": firing.attempt, "lateness": lateness}
