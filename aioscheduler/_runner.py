"""The runner: one firing in, one outcome out.

It applies the concurrency bound, runs the callable with the right executor (a task on the
loop, a worker thread, a worker process, inline), enforces the timeout and turns whatever
happens into an outcome. Per-job decisions (overlap, backlog, retries, pauses) are
:class:`~aioscheduler._jobruns.JobRuns`'; finished runs go to a
:class:`~aioscheduler._jobruns.RunSink`. A callback's exception never escapes: it becomes an
outcome. The runner is built from its collaborators and never sees the scheduler.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections import deque
from contextvars import copy_context
from types import CoroutineType
from typing import Any

from ._clock import Clock, to_datetime
from ._events import EventHub
from ._executors import Executors
from ._firing import Firing, current_firing
from ._jobruns import JobRuns, RunSink
from ._runjob import JobPath
from ._runstop import RunnerStop
from ._timers import Timer, parse_delay
from ._values import Outcome
from .errors import InvalidDelay, JobTimeout
from .events import RunFinished, RunStarted
from .stores._base import Claim, Store

__all__ = ("THREAD_ABANDONED", "Runner")

_Task = asyncio.Task
_create_task = asyncio.BaseEventLoop.create_task

logger = logging.getLogger("aioscheduler.runner")

#: ``Run.reason`` of a thread run cancelled by ``stop()``: its thread cannot be interrupted.
THREAD_ABANDONED = "abandoned at stop: a worker thread cannot be interrupted; it runs on"
#: At most this many steps of a backlog chain run in one task (then a fresh one, which lets
#: other work in between: a chain of jobs that never suspend would hold the loop).
CHAIN_BURST = 16


class Runner(JobPath, RunnerStop):
    """Runs firings for one scheduler (see the module docstring)."""

    def __init__(
        self,
        clock: Clock,
        hub: EventHub,
        executors: Executors,
        store: Store,
        sink: RunSink,
        max_concurrency: int | None,
    ) -> None:
        self._clock = clock
        self._hub = hub
        self._executors = executors
        self._sink = sink
        self._max = max_concurrency
        self._active = 0
        self._waiting: deque[Firing] = deque()
        admit = self._start if max_concurrency is None else self._admit  # no hop without a bound
        self.jobs = JobRuns(clock, hub, store, sink, admit, self._cancel)
        self._threads_left: list[str] = []  # jobs whose thread ran on after stop() cancelled it
        self._tasks: dict[asyncio.Task[None], Firing] = {}  # running firings by task
        self._finished: list[Firing] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._plain_loop = False  # the loop's create_task() is asyncio's own (see _start)
        self._idle: asyncio.Event | None = None
        self._closed = False  # set by stop(): nothing new starts (a second Ctrl-C hung on one)
        self.started_count = 0
        self.progress = 0
        #: Backlog chains run on in the task of their previous step (see ``_chain_step``);
        #: not under a concurrency bound, where a freed slot goes to the longest waiting.
        self._chains = max_concurrency is None
        #: The drain runs in the context the runner was bound in, not in that of the run that
        #: queued it: what it starts (a backlog's next firing) must not inherit a run's context.
        self._context = copy_context()

    # -- state ---------------------------------------------------------------------------------

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Start runs on ``loop`` (``None``: on the running loop, e.g. for ``run_pending``)."""
        self._loop = loop
        self._plain_loop = loop is not None and type(loop).create_task is _create_task
        self._context = copy_context()

    def open(self) -> None:
        """Accept new runs (``start()``, ``run_pending()``)."""
        self._closed = False

    def close(self) -> None:
        """Start no new run until :meth:`open` (one admitted meanwhile is reported cancelled).
        Set first thing in ``stop()``: when a second Ctrl-C cuts it short, a run freed by
        ``asyncio.run()``'s final cancellation must not start one that nobody cancels."""
        self._closed = True

    @property
    def busy(self) -> bool:
        """Whether any firing is running or waiting for a concurrency slot."""
        return self._active > 0 or bool(self._waiting)

    @property
    def running_count(self) -> int:
        """Firings running now."""
        return len(self._tasks)

    @property
    def waiting_count(self) -> int:
        """Firings waiting for a concurrency slot."""
        return len(self._waiting)

    @property
    def tasks(self) -> dict[asyncio.Task[None], Firing]:
        """The running firings by task (read-only use: the loop watchdog names them)."""
        return self._tasks

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
            timer.end()
            return
        timer.begin_run()
        self._admit(Firing(due, timer=timer))

    def fire_claim(self, claim: Claim, attempt: int = 1) -> None:
        self.jobs.fire_claim(claim, attempt)

    def cancel_claim(self, claim: Claim, reason: str) -> bool:
        """Cancel the run (running, queued or waiting) of a claimed firing; False if none."""
        return self.jobs.cancel_claim(claim, reason)

    def _admit(self, firing: Firing) -> None:
        if self._max is not None and self._active >= self._max:
            self._waiting.append(firing)
            return
        self._start(firing)

    def _start(self, firing: Firing) -> None:
        if self._closed:  # stop() began: a run started now would outlive its cancellation
            return self._refuse(firing)
        self._active += 1
        self.progress += 1
        self.started_count += 1
        spec = firing.spec
        if (
            spec is not None
            and (options := spec.options).timeout is None
            and (options.executor is None or options.executor == "async")
            and not (self._chains and self.jobs.chained)
        ):
            coro = self._run_job(firing)  # the common case, on a leaner coroutine
        else:
            coro = self._run(firing)
        # The per-firing tasks stay outside the supervising task group (see _engine.py): no
        # done callback per firing; the run's own coroutine leaves the set in _done(), which
        # saves a loop callback per firing.
        loop = self._loop
        if loop is None:
            task = asyncio.ensure_future(coro)
        elif self._plain_loop and loop.get_task_factory() is None:
            task = _Task(coro, loop=loop)  # what asyncio's create_task() does, without its frame
        else:
            task = loop.create_task(coro)
        firing.task = task
        self._tasks[task] = firing

    def _refuse(self, firing: Firing) -> None:
        if firing.timer is not None:
            firing.timer.end()
        else:
            self.jobs.finish(firing, Outcome.CANCELLED, None, None, "scheduler stopped")

    def _cancel(self, firing: Firing, reason: str) -> None:
        firing.cancel_reason = reason
        if firing.task is not None:
            firing.task.cancel()
        else:  # waiting for a concurrency slot: never started
            try:
                self._waiting.remove(firing)
            except ValueError:
                return
            self.jobs.finish(firing, Outcome.CANCELLED, None, None, reason)

    # -- execution -----------------------------------------------------------------------------

    async def _run(self, firing: Firing) -> None:
        """One run, job or timer: start, call, turn what happened into an outcome. A job
        with firings waiting in its backlog chain runs the next ones in this same task
        (see :meth:`_chain_step`)."""
        steps = 0
        # what a next step in this task must see; none taken (and no chain followed in this
        # task) while no firing waits in any chain: the common case costs no copy
        context = copy_context() if self._chains and self.jobs.chained else None
        while True:
            timer = firing.timer
            spec = firing.spec
            if timer is not None and timer.cancelled:  # cancelled while it waited for a slot
                timer.end()
                self._done(firing)
                return
            clock = self._clock
            firing.started = clock.time()
            token = current_firing.set(firing)
            hub = self._hub
            if hub.active:
                hub.emit(RunStarted(at=to_datetime(firing.started), run=firing.snapshot()))
            outcome: Outcome = Outcome.SUCCESS
            result: Any = None
            error: BaseException | None = None
            delay: float | None = None
            deadline = None
            if spec is None:
                assert timer is not None
                executor = timer.executor
            else:
                executor = spec.options.executor or "async"
                if (timeout := spec.options.timeout) is not None:
                    deadline = clock.call_at(
                        asyncio.get_running_loop(),
                        firing.started + timeout,
                        functools.partial(self._expire, firing),
                    )
            try:
                if spec is None:
                    assert timer is not None
                    if executor == "async":  # as for jobs below: no extra frame of Executors.call()
                        result = timer.callback(*timer.args)
                        if result.__class__ is CoroutineType or inspect.isawaitable(result):
                            result = await result
                    else:
                        result = await self._executors.call(
                            timer.callback, executor, timer.args, None
                        )
                    delay = parse_delay(result, "the delay returned by a timer callback")
                elif executor == "async":
                    # the hot path, without the extra frame of Executors.call()
                    func, kwargs = spec.func, spec.kwargs
                    result = func(*spec.args, **kwargs) if kwargs else func(*spec.args)
                    if result.__class__ is CoroutineType or inspect.isawaitable(result):
                        result = await result
                else:
                    result = await self._executors.call(spec.func, executor, spec.args, spec.kwargs)
            except asyncio.CancelledError:
                if firing.timed_out:
                    assert spec is not None
                    outcome = Outcome.TIMEOUT
                    error = JobTimeout(
                        f"job {spec.id!r} did not finish within its timeout of "
                        f"{spec.options.timeout} s"
                    )
                else:
                    outcome = Outcome.CANCELLED
                    if executor == "thread" and spec is not None and self._sink.stopping:
                        firing.cancel_reason = THREAD_ABANDONED  # reported by stop()
                        self._threads_left.append(spec.id)
            except InvalidDelay as exc:
                outcome, error = Outcome.ERROR, exc
                if timer is not None:
                    logger.error("timer %r returned an invalid delay: %s", timer, exc)
            except Exception as exc:
                outcome, error = Outcome.ERROR, exc
                if timer is not None:
                    logger.error("timer %r failed", timer, exc_info=exc)
            finally:
                current_firing.reset(token)
                if deadline is not None:
                    deadline.cancel()
            if firing.finished is not None:  # abandoned at stop() and reported then
                return
            if timer is not None:
                self._timer_ran(firing, timer, outcome, result, error, delay)
                return
            # Bookkeeping of finished job runs is batched into one loop callback: cheaper per run,
            # and runs that started together are not delayed by each other's bookkeeping.
            firing.outcome, firing.result, firing.error = outcome, result, error
            steps += 1
            # only after a success: a failed step's traceback holds this frame, which
            # release_locals() clears (that would end this coroutine while it runs on); and
            # only if the run left the context as it found it (each run sees a fresh one)
            if context is not None and outcome is Outcome.SUCCESS and steps < CHAIN_BURST:
                assert spec is not None
                task = firing.task
                if (
                    self.jobs.backlog_waits(spec.id)
                    and not self._closed
                    and task is not None
                    and not task.cancelling()
                    and copy_context() == context
                ):
                    nxt = self._chain_step(firing, task)
                    if nxt is None:
                        return
                    firing = nxt
                    continue
            self._queue_finished(firing)
            return

    def _chain_step(self, firing: Firing, task: asyncio.Task[None]) -> Firing | None:
        """Finish ``firing`` now and take the next firing of its job's backlog chain, to run in
        the same task: a step of a chain then costs no task and no loop turn (see the devnote
        issue-11-perf10k). ``None``: nothing follows (``firing`` is done with)."""
        nxt = self.jobs.finish_and_take_next(firing)
        if nxt is None:
            self._done(firing)
            return None
        self._tasks[task] = nxt
        nxt.task = task
        self.progress += 2  # one run done, one started (as _done() and _start() count)
        self.started_count += 1
        return nxt

    def _timer_ran(
        self,
        firing: Firing,
        timer: Timer,
        outcome: Outcome,
        result: Any,
        error: BaseException | None,
        delay: float | None,
    ) -> None:
        timer.end_run()
        now = self._clock.time()
        if (
            delay is not None
            and outcome is Outcome.SUCCESS
            and not timer.cancelled
            and not self._sink.stopping
        ):
            self._sink.reschedule_timer(timer, now + delay)
        else:
            timer.end()
        hub = self._hub
        if hub.active:
            run = firing.snapshot(outcome, now, result, error, firing.cancel_reason)
            hub.emit(RunFinished(at=run.finished_at or to_datetime(now), run=run))
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
        elif self._idle is not None and not self._active and not self._waiting:
            self._idle.set()

    # -- removing a job ------------------------------------------------------------------------

    def forget(self, job_id: str) -> None:
        """The job was removed: drop its queued firing; its state goes once nothing runs."""
        self.jobs.forget(job_id)

    # -- stop ----------------------------------------------------------------------------------

    def drop_pending(self) -> None:
        """Report queued and waiting firings as cancelled (the scheduler is stopping)."""
        self.jobs.drop_queued()
        while self._waiting:
            self._refuse(self._waiting.popleft())
