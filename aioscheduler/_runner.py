"""The runner: one firing in, one outcome out.

It applies the overlap policy and the concurrency bound, runs the callable with the right
executor (a task on the loop, a worker thread, inline), enforces the timeout, turns whatever
happens into a :class:`~aioscheduler.Run`, schedules retries, and hands finished job runs back to
the scheduler for the store. A callback's exception never escapes: it becomes an outcome.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from types import CoroutineType
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from ._attempts import lost_reason, over_budget
from ._backlog import Backlog
from ._clock import to_datetime
from ._logs import log_failure
from ._stopping import CANCEL_GRACE
from ._timers import Timer, parse_delay
from ._values import JobSpec, Outcome, Run
from .errors import InvalidDelay, JobTimeout
from .events import RunFinished, RunLost, RunMissed, RunSkipped, RunStarted
from .stores._base import Claim

if TYPE_CHECKING:
    from ._scheduler import Scheduler

__all__ = ("Firing", "Runner", "current_run")

logger = logging.getLogger("aioscheduler.runner")

#: ``Run.reason`` of a thread run cancelled by ``stop()``: its thread cannot be interrupted.
THREAD_ABANDONED = "abandoned at stop: a worker thread cannot be interrupted; it runs on"

_current: contextvars.ContextVar[Firing] = contextvars.ContextVar("aioscheduler_current_run")


def current_run() -> Run | None:
    """Return the :class:`~aioscheduler.Run` being executed, from inside a callback.

    Works in coroutine callbacks and in callables run on worker threads; returns ``None``
    outside a scheduled callback. Use ``run.job_id`` with ``run.scheduled_at`` as an
    idempotency key.
    """
    firing = _current.get(None)
    return None if firing is None else firing.snapshot()


class Firing:
    """Mutable, per-firing bookkeeping (one allocation per firing besides the task)."""

    __slots__ = (
        "_heap_seq",
        "attempt",
        "cancel_reason",
        "claim",
        "due",
        "error",
        "finished",
        "missed",
        "node",
        "outcome",
        "reason",
        "result",
        "retrying",
        "spec",
        "started",
        "task",
        "timed_out",
        "timer",
    )

    def __init__(
        self,
        due: float,
        timer: Timer | None = None,
        claim: Claim | None = None,
        attempt: int = 1,
    ) -> None:
        self._heap_seq = -1
        self.due = due
        self.timer = timer
        self.claim = claim
        self.spec: JobSpec | None = claim.spec if claim is not None else None
        self.missed = claim.missed if claim is not None else 0
        self.attempt = attempt
        self.started: float | None = None
        self.task: asyncio.Task[None] | None = None
        self.cancel_reason: str | None = None
        self.timed_out = False
        self.outcome: Outcome = Outcome.SUCCESS
        self.result: Any = None
        self.error: BaseException | None = None
        self.finished: float | None = None
        self.reason: str | None = None
        self.node: str | None = None
        self.retrying = False  # failed, and another attempt follows

    @property
    def job_id(self) -> str | None:
        return None if self.spec is None else self.spec.id

    def to_run(self) -> Run:
        """The finished run (built on demand: most finished firings are only counted)."""
        return self.snapshot(self.outcome, self.finished, self.result, self.error, self.reason)

    def snapshot(
        self,
        outcome: Outcome | None = None,
        finished: float | None = None,
        result: Any = None,
        error: BaseException | None = None,
        reason: str | None = None,
    ) -> Run:
        scheduled = self.claim.scheduled_at if self.claim is not None else self.due
        return Run(
            job_id=self.job_id,
            scheduled_at=to_datetime(scheduled),
            started_at=None if self.started is None else to_datetime(self.started),
            finished_at=None if finished is None else to_datetime(finished),
            attempt=self.attempt,
            outcome=outcome,
            reason=reason,
            missed=self.missed,
            result=result,
            error=error,
            timer=self.timer,
            node=self.node,
            backfill=self.claim is not None and self.claim.backfill,
        )


class _JobState:
    """Runtime state of one job in this process: its running firings and overlap queue."""

    __slots__ = ("failures", "queued", "running")

    def __init__(self) -> None:
        self.running: set[Firing] = set()
        self.queued: Firing | None = None
        self.failures = 0


class Runner:
    """Runs firings for one scheduler (see the module docstring)."""

    def __init__(self, scheduler: Scheduler, max_concurrency: int | None) -> None:
        self._scheduler = scheduler
        self._clock = scheduler._clock
        self._hub = scheduler._hub
        self._max = max_concurrency
        self._active = 0
        self._waiting: deque[Firing] = deque()
        self._jobs: dict[str, _JobState] = {}
        self._backlog = Backlog()  # coalesce=False catch-up: one at a time, in order
        self._threads_left: list[str] = []  # jobs whose thread ran on after stop() cancelled it
        self._tasks: dict[asyncio.Task[None], Firing] = {}  # running firings by task
        self._finished: list[Firing] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads = 0
        self._thread_done: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self.started_count = 0
        self.progress = 0
        self.node_name: str | None = None
        #: The store counts failures for pause_after_failures over every node (shared stores).
        self.store_counts_failures = False

    # -- state ---------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether any firing is running or waiting for a concurrency slot."""
        return self._active > 0 or bool(self._waiting)

    @property
    def threads_in_flight(self) -> int:
        return self._threads

    async def wait_thread(self) -> None:
        """Wait until some worker-thread run finishes."""
        if self._thread_done is None:
            self._thread_done = asyncio.Event()
        self._thread_done.clear()
        await self._thread_done.wait()

    async def wait_idle(self) -> None:
        """Wait until nothing runs or waits."""
        while self.busy:
            if self._idle is None:
                self._idle = asyncio.Event()
            self._idle.clear()
            await self._idle.wait()

    # -- entry points (synchronous, on the loop thread) ------------------------------------------

    def fire_timer(self, timer: Timer, due: float) -> None:
        if timer.cancelled:
            timer._end()
            return
        timer._running = True
        self._admit(Firing(due, timer=timer))

    def fire_claim(self, claim: Claim, attempt: int = 1) -> None:
        firing = Firing(claim.run_at, claim=claim, attempt=attempt)
        firing.node = self.node_name
        if not claim.run:
            reason = (
                "lost: its node stopped mid-run (delivery='at-most-once')"
                if claim.lost
                else "missed its misfire grace"
            )
            self._report_not_run(firing, Outcome.MISSED, reason)
            return
        if claim.attempt > 1 and over_budget(self._scheduler._store, claim.spec, attempt):
            firing.attempt -= 1  # a crash loop (see _attempts): report the attempt lost
            self._report_not_run(firing, Outcome.MISSED, lost_reason(claim.spec, firing.attempt))
            return
        spec = claim.spec
        state = self._jobs.get(spec.id)
        if state is None:
            state = self._jobs[spec.id] = _JobState()
        if (
            not spec.options.coalesce
            and claim.claimed
            and self._backlog.hold(firing, self._clock.time(), bool(state.running))
        ):
            return  # a backlog firing: it starts when the job's previous run has finished
        if state.running or claim.running:  # claim.running: runs of this job on other nodes
            overlap = spec.options.overlap
            if overlap == "skip":
                self._report_not_run(firing, Outcome.SKIPPED, "previous run still running")
                return
            if overlap == "queue" and state.running:
                if state.queued is not None:
                    self._report_not_run(firing, Outcome.SKIPPED, "a run is already queued")
                    return
                state.queued = firing
                return
            if overlap == "replace":
                for old in list(state.running):  # _cancel may finish (and remove) a waiting one
                    self._cancel(old, "replaced by a newer run")
                self._jobs[spec.id] = state  # _finish_job may have dropped an idle state
            elif (limit := spec.options.max_instances) is not None and (
                len(state.running) + claim.running >= limit
            ):
                self._report_not_run(
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
            self._finish_job(queued, Outcome.CANCELLED, None, None, reason)
            return True
        return False

    def _admit(self, firing: Firing) -> None:
        if self._max is not None and self._active >= self._max:
            self._waiting.append(firing)
            return
        self._start(firing)

    def _start(self, firing: Firing) -> None:
        self._active += 1
        self.progress += 1
        self.started_count += 1
        if firing.timer is not None:
            coro: Coroutine[Any, Any, None] = self._run_timer(firing)
        else:
            coro = self._run_job(firing)
        # No done callback: the run's own coroutine leaves the set in _done(), which saves a
        # loop callback per firing.
        loop = self._loop
        task = loop.create_task(coro) if loop is not None else asyncio.ensure_future(coro)
        firing.task = task
        self._tasks[task] = firing

    def _cancel(self, firing: Firing, reason: str) -> None:
        firing.cancel_reason = reason
        if firing.task is not None:
            firing.task.cancel()
        else:  # waiting for a concurrency slot: never started
            try:
                self._waiting.remove(firing)
            except ValueError:
                return
            self._finish_job(firing, Outcome.CANCELLED, None, None, reason)

    # -- execution -----------------------------------------------------------------------------

    async def _call(
        self, func: Callable[..., Any], executor: str, args: tuple[Any, ...], kwargs: Any
    ) -> Any:
        if executor == "async":
            result = func(*args, **kwargs) if kwargs else func(*args)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                return await result
            if hasattr(result, "__await__"):
                return await result
            return result
        if executor == "inline":
            return func(*args, **kwargs) if kwargs else func(*args)
        if executor == "process":
            return await self._scheduler._process_call(func, args, kwargs)
        call = (
            functools.partial(func, *args, **kwargs) if kwargs else functools.partial(func, *args)
        )
        self._threads += 1
        try:
            return await anyio.to_thread.run_sync(
                call, limiter=self._scheduler._limiter, abandon_on_cancel=True
            )
        finally:
            self._threads -= 1
            if self._thread_done is not None:
                self._thread_done.set()

    async def _run_timer(self, firing: Firing) -> None:
        timer = firing.timer
        assert timer is not None
        if timer.cancelled:  # cancelled while it waited for a concurrency slot
            timer._running = False
            timer._end()
            self._done(firing)
            return
        clock = self._clock
        firing.started = clock.time()
        token = _current.set(firing)
        hub = self._hub
        if hub.active:
            hub.emit(RunStarted(at=to_datetime(firing.started), run=firing.snapshot()))
        outcome: Outcome = Outcome.SUCCESS
        result: Any = None
        error: BaseException | None = None
        delay: float | None = None
        try:
            result = await self._call(timer._callback, timer._executor, timer._args, None)
            delay = parse_delay(result, "the delay returned by a timer callback")
        except asyncio.CancelledError:
            outcome = Outcome.CANCELLED
        except InvalidDelay as exc:
            outcome, error = Outcome.ERROR, exc
            logger.error("timer %r returned an invalid delay: %s", timer, exc)
        except Exception as exc:
            outcome, error = Outcome.ERROR, exc
            logger.error("timer %r failed", timer, exc_info=exc)
        finally:
            _current.reset(token)
        if firing.finished is not None:  # abandoned at stop() and reported then
            return
        timer._running = False
        now = clock.time()
        if (
            delay is not None
            and outcome is Outcome.SUCCESS
            and not timer.cancelled
            and not self._scheduler._stopping
        ):
            self._scheduler._reschedule_timer(timer, now + delay)
        else:
            timer._end()
        if hub.active:
            run = firing.snapshot(outcome, now, result, error, firing.cancel_reason)
            hub.emit(RunFinished(at=run.finished_at or to_datetime(now), run=run))
        self._done(firing)

    async def _run_job(self, firing: Firing) -> None:
        spec = firing.spec
        assert spec is not None
        options = spec.options
        clock = self._clock
        firing.started = clock.time()
        token = _current.set(firing)
        hub = self._hub
        if hub.active:
            hub.emit(RunStarted(at=to_datetime(firing.started), run=firing.snapshot()))
        outcome: Outcome = Outcome.SUCCESS
        result: Any = None
        error: BaseException | None = None
        executor = options.executor or "async"
        deadline = None
        if options.timeout is not None:
            deadline = clock.call_at(
                asyncio.get_running_loop(),
                firing.started + options.timeout,
                functools.partial(self._expire, firing),
            )
        try:
            if executor == "async":  # the hot path, without the extra frame of _call()
                func, kwargs = spec.func, spec.kwargs
                result = func(*spec.args, **kwargs) if kwargs else func(*spec.args)
                if result.__class__ is CoroutineType or inspect.isawaitable(result):
                    result = await result
            else:
                result = await self._call(spec.func, executor, spec.args, spec.kwargs)
        except asyncio.CancelledError:
            if firing.timed_out:
                outcome = Outcome.TIMEOUT
                error = JobTimeout(
                    f"job {spec.id!r} did not finish within its timeout of {options.timeout} s"
                )
            else:
                outcome = Outcome.CANCELLED
                if executor == "thread" and self._scheduler._stopping:
                    firing.cancel_reason = THREAD_ABANDONED  # reported by stop()
                    self._threads_left.append(spec.id)
        except Exception as exc:
            outcome, error = Outcome.ERROR, exc
        finally:
            _current.reset(token)
            if deadline is not None:
                deadline.cancel()
        if firing.finished is not None:  # abandoned at stop() and reported then
            return
        # Bookkeeping of finished runs is batched into one loop callback: cheaper per run, and
        # runs that started together are not delayed by each other's bookkeeping.
        firing.outcome, firing.result, firing.error = outcome, result, error
        finished = self._finished
        finished.append(firing)
        if len(finished) == 1:
            if self._loop is not None:
                self._loop.call_soon(self._drain_finished)
            else:
                self._drain_finished()

    def _drain_finished(self) -> None:
        """Finish every run that ended since the last call (see the end of ``_run_job``)."""
        batch, self._finished = self._finished, []
        for firing in batch:
            try:
                self._finish_job(
                    firing, firing.outcome, firing.result, firing.error, firing.cancel_reason
                )
            except Exception:  # pragma: no cover - a bug here must not lose the other runs
                logger.exception("recording the outcome of %r failed", firing.job_id)
            finally:
                self._done(firing)

    def _expire(self, firing: Firing) -> None:
        """The run's timeout is reached: cancel it (a thread run is abandoned, not killed)."""
        if firing.task is not None and not firing.task.done():
            firing.timed_out = True
            firing.task.cancel()

    def _done(self, firing: Firing) -> None:
        self._tasks.pop(firing.task, None)  # type: ignore[arg-type]
        self._active -= 1
        self.progress += 1
        if self._waiting and (self._max is None or self._active < self._max):
            self._start(self._waiting.popleft())
        elif not self.busy and self._idle is not None:
            self._idle.set()

    # -- outcomes ------------------------------------------------------------------------------

    def _report_not_run(self, firing: Firing, outcome: Outcome, reason: str) -> None:
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
        self._scheduler._job_finished(firing.claim, run)

    def _finish_job(
        self,
        firing: Firing,
        outcome: Outcome,
        result: Any,
        error: BaseException | None,
        reason: str | None,
    ) -> None:
        spec = firing.spec
        claim = firing.claim
        assert spec is not None and claim is not None
        now = self._clock.time()
        if outcome is Outcome.CANCELLED and reason is None:
            reason = "scheduler stopped"
        firing.outcome, firing.finished, firing.result, firing.error, firing.reason = (
            outcome,
            now,
            result,
            error,
            reason,
        )
        state = self._jobs.get(spec.id)
        if state is not None:
            state.running.discard(firing)
        failed = outcome is Outcome.ERROR or outcome is Outcome.TIMEOUT
        options = spec.options
        retrying = (
            failed
            and state is not None
            and firing.attempt <= options.retries
            and isinstance(error, options.retry_on)
            and not self._scheduler._stopping
        )
        delay = options.backoff.delay(firing.attempt) if retrying else 0.0
        firing.retrying = retrying
        if failed:
            log_failure(logger, firing, outcome, error, delay if retrying else None)
        elif logger.isEnabledFor(logging.DEBUG):
            logger.debug("job %r ran: %s", spec.id, outcome.value, extra=self._log_extra(firing))
        if self._hub.active:
            self._hub.emit(RunFinished(at=to_datetime(now), run=firing.to_run()))
        if failed and state is not None:
            if retrying:
                self._scheduler._schedule_retry(claim, firing.attempt + 1, now + delay)
            else:
                state.failures += 1
                k = options.pause_after_failures
                if k is not None and state.failures >= k and not self.store_counts_failures:
                    state.failures = 0
                    self._scheduler._pause_after_failures(spec.id, k)
        elif outcome is Outcome.SUCCESS and state is not None:
            state.failures = 0
        self._scheduler._job_finished(claim, firing, final=not retrying)
        if state is not None:
            queued = state.queued
            if queued is not None and not state.running:
                state.queued = None
                if self._scheduler._stopping:
                    self._finish_job(queued, Outcome.CANCELLED, None, None, "scheduler stopped")
                else:
                    state.running.add(queued)
                    self._admit(queued)
            if not state.running and self._backlog.active(spec.id):
                self._next_in_backlog(spec.id, state)
            if not state.running and state.queued is None and not state.failures:
                del self._jobs[spec.id]

    def _next_in_backlog(self, job_id: str, state: _JobState) -> None:
        """Start the job's next backlog firing (see ``_backlog.py``); one that waited past its
        misfire grace is reported missed instead."""
        if self._scheduler._stopping:
            return  # drop_pending() reports the waiting ones cancelled
        while (nxt := self._backlog.pop(job_id)) is not None:
            assert nxt.spec is not None
            grace = nxt.spec.options.misfire_grace
            if grace is not None and self._clock.time() - nxt.due > grace:
                nxt.missed = 1
                self._report_not_run(nxt, Outcome.MISSED, "waited past its misfire grace")
                continue
            state.running.add(nxt)
            self._admit(nxt)
            return

    @staticmethod
    def _log_extra(firing: Firing) -> dict[str, Any]:
        claim = firing.claim
        lateness = (
            None if firing.started is None or claim is None else firing.started - claim.scheduled_at
        )
        return {"job_id": firing.job_id, "attempt": firing.attempt, "lateness": lateness}

    def forget(self, job_id: str) -> None:
        """The job was removed: drop its queued firing; its state goes once nothing runs."""
        for waiting in self._backlog.drop(job_id):
            self._finish_job(waiting, Outcome.SKIPPED, None, None, "job removed")
        state = self._jobs.get(job_id)
        if state is None:
            return
        queued, state.queued = state.queued, None
        if queued is not None:  # it never ran: reported like any skipped firing
            self._report_not_run(queued, Outcome.SKIPPED, "job removed")
        state.failures = 0
        if not state.running:
            self._jobs.pop(job_id, None)

    # -- stop ----------------------------------------------------------------------------------

    def drop_pending(self) -> None:
        """Report queued and waiting firings as cancelled (the scheduler is stopping)."""
        for firing in self._backlog.drop_all():
            self._finish_job(firing, Outcome.CANCELLED, None, None, "scheduler stopped")
        for state in list(self._jobs.values()):
            queued, state.queued = state.queued, None
            if queued is not None:
                self._finish_job(queued, Outcome.CANCELLED, None, None, "scheduler stopped")
        while self._waiting:
            firing = self._waiting.popleft()
            if firing.timer is not None:
                firing.timer._running = False
                firing.timer._end()
            else:
                self._finish_job(firing, Outcome.CANCELLED, None, None, "scheduler stopped")

    async def stop(self, timeout: float | None) -> list[str]:
        """Wait for running work (``timeout`` seconds; ``None``: all of it), then cancel the
        rest; what does not end within ``CANCEL_GRACE`` of its cancellation is abandoned:
        recorded cancelled now, its task left to end on its own. Returns a description of each
        abandoned run."""
        self.drop_pending()
        me = asyncio.current_task()  # stop() called from inside a run: that run goes on
        tasks = set(self._tasks) - {me}
        if tasks and (timeout is None or timeout > 0):
            await asyncio.wait(tasks, timeout=timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CANCEL_GRACE
        for _ in range(100):  # cancelled runs may start queued ones; bounded in practice
            self._drain_finished()
            self.drop_pending()
            tasks = {t for t in self._tasks if not t.done() and t is not me}
            remaining = deadline - loop.time()
            if not tasks or remaining <= 0:
                break
            for task in tasks:
                for firing in self._firings_of(task):
                    firing.cancel_reason = firing.cancel_reason or "scheduler stopped"
                task.cancel()
            await asyncio.wait(tasks, timeout=remaining)
        self._drain_finished()
        for task in [t for t in self._tasks if t.done()]:  # ended by Ctrl-C (KeyboardInterrupt)
            self._interrupted(task)
        abandoned = [self._abandon(t) for t in list(self._tasks) if not t.done() and t is not me]
        left, self._threads_left = self._threads_left, []
        for job_id in left:
            logger.warning(
                "job %r still runs on a worker thread after stop(): a thread cannot be "
                "interrupted; it ends when the function returns",
                job_id,
                extra={"job_id": job_id},
            )
        return abandoned + [f"job {job_id!r} (on a worker thread)" for job_id in left]

    def _interrupted(self, task: asyncio.Task[None]) -> None:
        """A run's task died of a ``BaseException`` its wrapper does not turn into an outcome
        (``KeyboardInterrupt``, ``SystemExit``): record the run cancelled, retrieve the error."""
        firing = self._tasks[task]
        error = None if task.cancelled() else task.exception()
        reason = f"interrupted ({type(error).__name__})" if error is not None else None
        if firing.timer is not None:
            firing.timer._running = False
            firing.timer._end()
        elif firing.finished is None:
            self._finish_job(firing, Outcome.CANCELLED, None, None, reason)
        self._done(firing)

    def _abandon(self, task: asyncio.Task[None]) -> str:
        """Give up on a run that did not end when cancelled: report it now (its task goes on,
        kept referenced by the scheduler until it ends)."""
        firing = self._tasks[task]
        reason = "abandoned at stop: still running after cancellation"
        what = "a timer" if firing.timer is not None else f"job {firing.job_id!r}"
        logger.warning(
            "%s did not end within %.1f s of being cancelled at stop(); it is abandoned and "
            "keeps running on the loop until it returns",
            what,
            CANCEL_GRACE,
            extra={"job_id": firing.job_id},
        )
        if firing.timer is not None:
            firing.finished = self._clock.time()
            firing.timer._running = False
            firing.timer._end()
        else:
            self._finish_job(firing, Outcome.CANCELLED, None, None, reason)
        self._done(firing)
        return what

    def _firings_of(self, task: asyncio.Task[None]) -> list[Firing]:
        return [f for s in self._jobs.values() for f in s.running if f.task is task]
