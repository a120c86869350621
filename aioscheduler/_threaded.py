"""A scheduler on its own event loop in a daemon thread, with a blocking face for code that is
not async (WSGI apps such as Flask or Django, scripts): ``scheduler.start_in_thread()``.

It is the same engine: the handle only carries each call over to the scheduler's loop
(``asyncio.run_coroutine_threadsafe``) and waits for the result, so its methods are safe to
call from any thread, including the worker threads that run plain (sync) jobs.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Callable, Coroutine
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, Unpack

from ._firing import current_run
from ._statistics import SchedulerState
from ._values import Job, JobOptionsKw, ModifyKw
from .errors import SchedulerStateError
from .triggers import Trigger

__all__ = ("AsyncScheduler", "SchedulerThread")

T = TypeVar("T")

#: Real seconds ``start_in_thread()`` waits for the scheduler to start (open its store...).
START_TIMEOUT = 60.0
#: Real seconds the stop at interpreter exit waits for running work before cancelling it.
EXIT_GRACE = 10.0


class AsyncScheduler(Protocol):
    """What a :class:`SchedulerThread` drives: a :class:`~aioscheduler.Scheduler` (typed
    structurally, so that this core module does not import the face)."""

    @property
    def running(self) -> bool: ...

    @property
    def state(self) -> SchedulerState: ...

    async def start(self) -> None: ...

    async def serve(self) -> None: ...

    async def stop(self, timeout: float | None = None) -> None: ...

    async def add(
        self, func: Callable[..., Any], trigger: Trigger, **options: Unpack[JobOptionsKw]
    ) -> Job: ...

    async def remove(self, id: str) -> None: ...

    async def pause(self, id: str) -> Job: ...

    async def resume(self, id: str) -> Job: ...

    async def get(self, id: str) -> Job: ...

    async def jobs(self, *, history: bool = True) -> list[Job]: ...

    async def run_now(self, id: str) -> None: ...

    async def modify(self, id: str, **changes: Unpack[ModifyKw]) -> Job: ...

    async def reschedule(self, id: str, trigger: Trigger) -> Job: ...


if TYPE_CHECKING:  # a default (PEP 696): a bare ``SchedulerThread`` needs no parameter
    from typing_extensions import TypeVar as DefaultTypeVar

    S = DefaultTypeVar("S", bound=AsyncScheduler, default=AsyncScheduler)
else:
    S = TypeVar("S", bound=AsyncScheduler)


class SchedulerThread(Generic[S]):
    """A running scheduler's blocking, thread-safe face; made by
    :meth:`Scheduler.start_in_thread <aioscheduler.Scheduler.start_in_thread>`.

    Every method blocks until the scheduler's loop has done the work and returns its result
    (or raises its error). They may be called from any thread, but not from a coroutine
    running on the scheduler's own loop (an ``async`` job): it would wait for itself. There,
    ``await`` the :class:`~aioscheduler.Scheduler`'s own methods instead.

    The thread is a daemon; at interpreter exit the scheduler is stopped (running work gets
    ``EXIT_GRACE`` seconds) unless :meth:`stop` was called. Also a context manager::

        with scheduler.start_in_thread() as jobs:
            jobs.add(send_report, Cron("0 9 * * *"))
            app.run()
    """

    def __init__(self, scheduler: S, name: str, timeout: float = START_TIMEOUT) -> None:
        """Start the thread; return once the scheduler runs in it (``timeout`` seconds at
        most)."""
        self._scheduler = scheduler
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._start(timeout)

    # -- the thread ----------------------------------------------------------------------------

    def _start(self, timeout: float) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise SchedulerStateError(f"the scheduler did not start within {timeout:g} s")
        if self._error is not None:
            self._thread.join()
            raise self._error
        atexit.register(self._at_exit)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            await self._scheduler.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._scheduler.serve()  # returns once the scheduler has stopped

    def _at_exit(self) -> None:
        if self.running:
            self.stop(timeout=EXIT_GRACE)

    def _call(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        loop = self._loop
        if loop is None or not self._thread.is_alive() or loop.is_closed():
            raise SchedulerStateError("the scheduler's thread is not running")
        if threading.get_ident() == self._thread.ident:
            raise SchedulerStateError(
                "a blocking SchedulerThread method was called on the scheduler's own loop, "
                "where it would wait for itself; await the Scheduler's method instead"
            )
        return asyncio.run_coroutine_threadsafe(make(), loop).result()

    # -- the face ------------------------------------------------------------------------------

    @property
    def scheduler(self) -> S:
        """The scheduler (its coroutine methods belong to its own loop, in the thread)."""
        return self._scheduler

    @property
    def running(self) -> bool:
        """Whether the scheduler runs in its thread."""
        return self._thread.is_alive() and self._scheduler.running

    def add(
        self, func: Callable[..., Any], trigger: Trigger, **options: Unpack[JobOptionsKw]
    ) -> Job:
        """:meth:`Scheduler.add <aioscheduler.Scheduler.add>`, blocking."""
        return self._call(lambda: self._scheduler.add(func, trigger, **options))

    def remove(self, id: str) -> None:
        """:meth:`Scheduler.remove <aioscheduler.Scheduler.remove>`, blocking."""
        self._call(lambda: self._scheduler.remove(id))

    def pause(self, id: str) -> Job:
        """:meth:`Scheduler.pause <aioscheduler.Scheduler.pause>`, blocking."""
        return self._call(lambda: self._scheduler.pause(id))

    def resume(self, id: str) -> Job:
        """:meth:`Scheduler.resume <aioscheduler.Scheduler.resume>`, blocking."""
        return self._call(lambda: self._scheduler.resume(id))

    def get(self, id: str) -> Job:
        """:meth:`Scheduler.get <aioscheduler.Scheduler.get>`, blocking."""
        return self._call(lambda: self._scheduler.get(id))

    def jobs(self, *, history: bool = True) -> list[Job]:
        """:meth:`Scheduler.jobs <aioscheduler.Scheduler.jobs>`, blocking."""
        return self._call(lambda: self._scheduler.jobs(history=history))

    def run_now(self, id: str) -> None:
        """:meth:`Scheduler.run_now <aioscheduler.Scheduler.run_now>`, blocking."""
        self._call(lambda: self._scheduler.run_now(id))

    def modify(self, id: str, **changes: Unpack[ModifyKw]) -> Job:
        """:meth:`Scheduler.modify <aioscheduler.Scheduler.modify>`, blocking."""
        return self._call(lambda: self._scheduler.modify(id, **changes))

    def reschedule(self, id: str, trigger: Trigger) -> Job:
        """:meth:`Scheduler.reschedule <aioscheduler.Scheduler.reschedule>`, blocking."""
        return self._call(lambda: self._scheduler.reschedule(id, trigger))

    def stop(self, timeout: float | timedelta | None = None) -> None:
        """Stop the scheduler (see :meth:`Scheduler.stop <aioscheduler.Scheduler.stop>`) and
        wait for its thread to end.

        Called from inside one of its own jobs (a plain function on a worker thread), it only
        requests the stop and returns: waiting would wait for the job that is calling it.
        Stopping a stopped one does nothing.
        """
        seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
        atexit.unregister(self._at_exit)
        loop = self._loop
        if loop is None or not self._thread.is_alive():
            return
        if current_run() is not None or threading.get_ident() == self._thread.ident:
            asyncio.run_coroutine_threadsafe(self._scheduler.stop(seconds), loop)
            return
        with contextlib.suppress(SchedulerStateError):  # the thread ended meanwhile
            self._call(lambda: self._scheduler.stop(seconds))
        self._thread.join()

    def __enter__(self) -> SchedulerThread[S]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<SchedulerThread {self._thread.name!r} {state}>"


def start_in_thread(scheduler: S, name: str) -> SchedulerThread[S]:
    """See :meth:`Scheduler.start_in_thread`."""
    if scheduler.state is not SchedulerState.STOPPED:
        raise SchedulerStateError(f"the scheduler is already {scheduler.state.value}")
    return SchedulerThread(scheduler, name)
