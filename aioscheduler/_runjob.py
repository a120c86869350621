"""The hot path of a job run in the :class:`~aioscheduler._runner.Runner` (a base class of
it, kept apart to keep each module short): the coroutine of a common job run, and the batched
bookkeeping of finished job runs.

Measured with ``benchmarks/profile_firing.py`` (CPU per firing of a burst of async jobs): the
lean coroutine, fewer locals and branches than ``Runner._run``, and the task made without
``loop.create_task()``'s frame, together 0.3-0.4 µs of ~6.8 µs a firing
(devnotes/2026-11-28-s5/issue-11-jobpath.md).
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from contextvars import Context
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from ._clock import Clock, to_datetime
from ._events import EventHub
from ._firing import Firing, current_firing
from ._values import Outcome
from .events import RunStarted

if TYPE_CHECKING:
    from ._jobruns import JobRuns

__all__ = ("JobPath",)


class JobPath:
    """The job runs' hot path of the runner (see the module docstring)."""

    if TYPE_CHECKING:
        _clock: Clock
        _hub: EventHub
        _loop: asyncio.AbstractEventLoop | None
        _context: Context
        _finished: list[Firing]
        _tasks: dict[asyncio.Task[None], Firing]
        _waiting: deque[Firing]
        _max: int | None
        _active: int
        _idle: asyncio.Event | None
        progress: int
        jobs: JobRuns

        def _done(self, firing: Firing) -> None: ...

    async def _run_job(self, firing: Firing) -> None:
        """:meth:`_run` for the common case: a job on the async executor, no timeout, no
        backlog chain to follow in this task (the same steps, fewer of them)."""
        firing.started = self._clock.time()
        # reset at the end: the task's context would otherwise hold the firing, which holds
        # the task, a cycle left to the garbage collector (measured: +0.5 µs a firing)
        token = current_firing.set(firing)
        hub = self._hub
        if hub.active:
            hub.emit(RunStarted(at=to_datetime(firing.started), run=firing.snapshot()))
        spec = firing.spec
        assert spec is not None
        outcome = Outcome.SUCCESS
        result: Any = None
        error: BaseException | None = None
        try:
            func, kwargs = spec.func, spec.kwargs
            result = func(*spec.args, **kwargs) if kwargs else func(*spec.args)
            if result.__class__ is CoroutineType or inspect.isawaitable(result):
                result = await result
        except asyncio.CancelledError:
            outcome = Outcome.CANCELLED
        except Exception as exc:
            outcome, error = Outcome.ERROR, exc
        finally:
            current_firing.reset(token)
        if firing.finished is not None:  # abandoned at stop() and reported then
            return
        firing.outcome, firing.result, firing.error = outcome, result, error
        self._queue_finished(firing)

    def _queue_finished(self, firing: Firing) -> None:
        """Hand a finished job run to the batched bookkeeping: one loop callback for the runs
        that end in a loop turn (cheaper per run, and runs that started together are not
        delayed by each other's bookkeeping)."""
        finished = self._finished
        finished.append(firing)
        if len(finished) == 1:
            if self._loop is not None:
                self._loop.call_soon(self._drain_finished, context=self._context)
            else:
                self._drain_finished()

    def _drain_finished(self) -> None:
        """Finish every job run that ended since the last call (see the end of ``_run``)."""
        batch, self._finished = self._finished, []
        if batch and self._max is not None:  # a freed slot starts a waiting firing: one by one
            self.jobs.finish_batch(batch, self._done)
        elif batch:
            try:
                self.jobs.finish_batch(batch, None)
            finally:  # _done() for the whole batch: nothing waits for a slot without a bound
                for firing in batch:
                    self._tasks.pop(firing.task, None)  # type: ignore[arg-type]
                self._active -= len(batch)
                self.progress += len(batch)
                if self._idle is not None and not self._active and not self._waiting:
                    self._idle.set()
