"""Start, stop and supervision of the engine (the base of :class:`~aioscheduler._engine.Engine`).

``start()`` starts one supervisor task, which opens an :class:`asyncio.TaskGroup` running the
dispatcher; every internal task (``spawn_task``) joins that group while it is open. When any
of them fails, the group cancels the others and the supervisor stops the scheduler (see the
``_engine.py`` docstring). ``stop()`` stops dispatching, lets running work finish (bounded),
writes what is left to the store, then lets the group close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from ._clock import Clock
from ._cluster import Cluster
from ._dispatcher import Dispatcher
from ._events import EventHub
from ._executors import Executors
from ._firing import Firing
from ._recording import Recorder
from ._runner import Runner
from ._statistics import SchedulerState
from ._stopping import (
    CANCEL_GRACE,
    STOP_GRACE,
    Abandoned,
    finish_tasks,
    interrupts_between_callbacks,
    retrieve,
    within,
)
from ._timers import Timer
from ._values import Outcome
from ._watchdog import LoopWatchdog
from .errors import SchedulerCrashed, SchedulerStateError
from .events import Event, SchedulerCrashedEvent, SchedulerStarted, SchedulerStopped

__all__ = ("Lifecycle",)

logger = logging.getLogger("aioscheduler")

_TASK_NAME = "aioscheduler: {}"


class Lifecycle:
    """The lifecycle half of the engine (see the module docstring)."""

    clock: Clock
    hub: EventHub
    executors: Executors
    cluster: Cluster
    runner: Runner
    dispatcher: Dispatcher
    recorder: Recorder

    def __init__(self, lag_threshold: float | None) -> None:
        self._lag_threshold = lag_threshold
        self._watchdog: LoopWatchdog | None = None
        self.state = SchedulerState.STOPPED
        self.starts = 0
        self._stopping = False
        self._internal: set[asyncio.Task[Any]] = set()  # waited for at stop
        self._services: set[asyncio.Task[Any]] = set()  # long-lived, ended by their owner
        self._group: asyncio.TaskGroup | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._dispatch_task: asyncio.Task[None] | None = None
        self._close_group: asyncio.Event | None = None
        self._stopped_event: asyncio.Event | None = None
        self._abandoned = Abandoned()  # tasks given up on at stop(), kept until they end
        self._crash: tuple[str, BaseException] | None = None  # for serve() and one stop()

    # provided by the engine
    def emit(self, event: Event) -> None:
        raise NotImplementedError

    async def ensure_store(self) -> None:
        raise NotImplementedError

    async def close_store(self) -> None:
        raise NotImplementedError

    async def load_tick_jobs(self) -> None:
        raise NotImplementedError

    # -- state -----------------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        """Whether a stop is under way (no retry, no reschedule, no new flush)."""
        return self._stopping

    @property
    def abandoned(self) -> Abandoned:
        """Tasks given up on at stop that have not ended."""
        return self._abandoned

    @property
    def watchdog_running(self) -> bool:
        return self._watchdog is not None

    @property
    def busy_internal(self) -> int:
        """Internal tasks (not the long-lived ones) that have not ended."""
        return sum(1 for t in self._internal if not t.done())

    # -- internal tasks --------------------------------------------------------------------------

    def spawn_task(self, coro: Coroutine[Any, Any, Any], *, drain: bool) -> asyncio.Task[Any]:
        """Run ``coro`` in the supervising group (a plain task while none is open, e.g. under
        ``run_pending()``: then a failure is logged). ``drain``: ``stop()`` waits for it."""
        group = self._group
        if group is not None:
            task = group.create_task(coro)
        else:
            task = asyncio.get_running_loop().create_task(coro)
            task.add_done_callback(_log_failure)
        tracked = self._internal if drain else self._services
        tracked.add(task)
        task.add_done_callback(tracked.discard)
        return task

    async def _supervise(self, ready: asyncio.Future[None]) -> None:
        closing = self._close_group = asyncio.Event()
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                self.hub.start(self._spawn_delivery)
                self._dispatch_task = group.create_task(
                    self._guard("dispatcher", self.dispatcher.run())
                )
                ready.set_result(None)
                await closing.wait()
                self._group = None  # what is spawned from now on runs outside the group
        except BaseExceptionGroup as group_error:
            self._group = None
            what, error = _first(group_error)
            await self._crashed(what, error)
        except (KeyboardInterrupt, SystemExit):
            # A task of the group was hit by Ctrl-C: the interrupt has already left the loop
            # from that task; the group raising it again here, in the middle of asyncio.run()'s
            # clean-up, would cut that clean-up short (tasks and worker threads left behind).
            return
        finally:
            self._group = None

    async def _guard(self, what: str, coro: Coroutine[Any, Any, None]) -> None:
        try:
            await coro
        except Exception as exc:
            exc.add_note(f"aioscheduler: raised by the {what}")
            raise

    async def _crashed(self, what: str, error: BaseException) -> None:
        logger.critical(
            "the scheduler crashed: its %s failed with %r; it stops (running work is cancelled)",
            what,
            error,
            exc_info=error,
        )
        self._crash = (what, error)
        self.hub.start(self._spawn_delivery)  # the group cancelled delivery: the rest goes out
        self.emit(SchedulerCrashedEvent(at=self.clock.now(), task=what, error=repr(error)))
        if self.state is SchedulerState.RUNNING:
            try:
                await self._halt(0)
            finally:
                self._mark_stopped()

    def _mark_stopped(self) -> None:
        if self._stopped_event is not None:
            self._stopped_event.set()

    def take_crash(self, *, keep: bool = False) -> SchedulerCrashed | None:
        """The crash to report, as a :class:`SchedulerCrashed` caused by the error; once
        unless ``keep``."""
        crash = self._crash
        if not keep:
            self._crash = None
        if crash is None:
            return None
        what, error = crash
        try:
            raise SchedulerCrashed(
                f"the scheduler crashed: its {what} failed with {error!r}"
            ) from error
        except SchedulerCrashed as exc:
            return exc

    # -- start -----------------------------------------------------------------------------------

    async def start(self, prepare: Callable[[], Awaitable[None]]) -> None:
        """Open the store, run ``prepare`` (declared jobs), start the supervised dispatcher."""
        if self.state is not SchedulerState.STOPPED:
            raise SchedulerStateError(f"the scheduler is already {self.state.value}")
        self.state = SchedulerState.STARTING
        self._crash = None
        try:
            loop = asyncio.get_running_loop()
            self.dispatcher.bind(loop)
            self._stopping = False
            self._stopped_event = asyncio.Event()
            self.executors.open()
            self.runner.bind(loop)
            self.runner.open()
            await self.ensure_store()
            await prepare()
            await self.load_tick_jobs()
            if self._lag_threshold is not None:
                self._watchdog = LoopWatchdog(
                    self._lag_threshold, self.runner.tasks, self.emit, self.clock.now
                )
                self._watchdog.start()
        except BaseException:
            self.state = SchedulerState.STOPPED
            self.dispatcher.unbind()
            raise
        # running from here: a crash of the dispatcher's first round stops it properly
        self.state = SchedulerState.RUNNING
        self.starts += 1
        ready: asyncio.Future[None] = loop.create_future()
        self._supervisor = loop.create_task(self._supervise(ready), name="aioscheduler")
        await ready
        self.emit(SchedulerStarted(at=self.clock.now()))

    def _spawn_delivery(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[Any]:
        return self.spawn_task(self._guard("event delivery", coro), drain=False)

    # -- stop ------------------------------------------------------------------------------------

    async def wait_stopped(self) -> None:
        """Wait until the scheduler has stopped (``serve()``)."""
        assert self._stopped_event is not None
        await self._stopped_event.wait()

    @property
    def ever_started(self) -> bool:
        return self._stopped_event is not None

    async def stop(self, timeout: float | None) -> None:
        """See ``Scheduler.stop``. Re-raises a crash once."""
        if self.state in (SchedulerState.STOPPED, SchedulerState.STOPPING):
            if self.state is SchedulerState.STOPPING and self._stopped_event is not None:
                await self._stopped_event.wait()
            else:  # never started, or stopped: release what add()/run_pending() opened
                await self.drain_internal()
                await self.executors.aclose()
                await self.close_store()
            crash = self.take_crash()
            if crash is not None:
                raise crash
            return
        with interrupts_between_callbacks(asyncio.get_running_loop()):
            await self._stop_running(timeout)
        crash = self.take_crash()
        if crash is not None:
            raise crash

    async def _stop_running(self, timeout: float | None) -> None:
        try:
            await self._halt(timeout)
        except BaseException:
            self._mark_stopped()
            raise
        supervisor, self._supervisor = self._supervisor, None
        me = asyncio.current_task()
        inside = me in self._services or me in self._internal  # e.g. an event subscriber
        if supervisor is not None and not supervisor.done() and not inside:
            # the group closes once its last task returns; not cancelled: stop() may be called
            # from one of them (an event subscriber), which must not cancel itself
            await asyncio.wait({supervisor}, timeout=CANCEL_GRACE)
            if not supervisor.done():
                self._abandoned.keep(supervisor)
        elif supervisor is not None and not supervisor.done():
            self._abandoned.keep(supervisor)  # closes once the calling task returns
        self._mark_stopped()

    async def _halt(self, timeout: float | None) -> None:
        self.state = SchedulerState.STOPPING
        self._stopping = True
        loop = asyncio.get_running_loop()
        try:
            self.dispatcher.stop()
            self.runner.close()  # from here nothing new starts, even if this stop is cut short
            dispatch, self._dispatch_task = self._dispatch_task, None
            if dispatch is not None:
                await finish_tasks({dispatch}, loop.time() + CANCEL_GRACE, self._abandoned)
            self._end_local_entries()
            abandoned = await self.runner.stop(timeout)
            # what follows the runs (records, events) is bounded too, unless no timeout was set
            grace = None if timeout is None else loop.time() + STOP_GRACE
            await self.drain_internal(grace)
            self.recorder.cancel()
            self.emit(
                SchedulerStopped(
                    at=self.clock.now(),
                    abandoned=tuple(abandoned),
                    unrecorded=tuple(self.recorder.unrecorded),
                )
            )
            flush = 1.0 if grace is None else max(0.0, min(grace - loop.time(), timeout or 1.0))
            await self.hub.stop(timeout=flush)
            await self.cluster.close()
            if self._close_group is not None:
                self._close_group.set()  # the dispatcher has returned: the group may close
            await self.close_store()
            await self.executors.aclose()
        finally:
            # a second Ctrl-C may have ended a run by KeyboardInterrupt anywhere in this stop:
            # its task's error is seen here, not reported as "never retrieved" at exit
            retrieve(self.runner.tasks)
            self.recorder.cancel_waiters()
            if self._watchdog is not None:
                self._watchdog.stop()
                self._watchdog = None
            self.dispatcher.unbind()
            self.runner.bind(None)
            self.state = SchedulerState.STOPPED

    def _end_local_entries(self) -> None:
        for entry in self.dispatcher.clear_local():
            if isinstance(entry, Timer):
                entry.end()
            elif isinstance(entry, Firing) and entry.claim is not None:
                # a pending retry, run_now or Ticks firing: reported like any cancelled run
                self.runner.jobs.finish(entry, Outcome.CANCELLED, None, None, "scheduler stopped")

    async def drain_internal(self, deadline: float | None = None) -> None:
        """Wait for internal tasks, then record finished runs in this task (starting no new
        task: the loop may be closing). Past ``deadline`` (loop time) what is left is cancelled,
        and abandoned if it does not end (see ``_stopping.py``)."""
        for _ in range(10):
            tasks = {t for t in self._internal if not t.done()}
            for task in await finish_tasks(tasks, deadline, self._abandoned):
                self._internal.discard(task)
            await self.recorder.write_pending(deadline, within)
            if not self.recorder.pending and not self.busy_internal:
                return


def _first(group: BaseExceptionGroup[BaseException]) -> tuple[str, BaseException]:
    """The first real error in a task group's exception group, and which task raised it."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    what = "internal task"
    for note in getattr(error, "__notes__", ()):
        if note.startswith("aioscheduler: raised by the "):
            what = note.removeprefix("aioscheduler: raised by the ")
    return what, error


def _log_failure(task: asyncio.Task[Any]) -> None:
    error = None if task.cancelled() else task.exception()
    if isinstance(error, Exception):  # KeyboardInterrupt/SystemExit: already raised
        logger.error("an internal task of the scheduler failed", exc_info=error)
