"""Where a sync callable runs: worker threads (an anyio limiter) and worker processes.

:class:`Executors` belongs to one scheduler. It counts the worker-thread runs in flight (a
public figure in :meth:`Scheduler.statistics <aioscheduler.Scheduler.statistics>`), starts the
process pool on first use and closes it at stop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread

from ._process import ProcessPool

__all__ = ("DEFAULT_THREADS", "Executors")

#: Worker threads when ``max_threads`` is not given (anyio's default).
DEFAULT_THREADS = 40


class Executors:
    """The worker threads and processes of one scheduler."""

    __slots__ = ("_limiter", "_max_processes", "_max_threads", "_pool", "threads", "threads_done")

    def __init__(self, max_threads: int | None, max_processes: int | None) -> None:
        self._max_threads = max_threads
        self._max_processes = max_processes
        self._limiter: anyio.CapacityLimiter | None = None
        self._pool: ProcessPool | None = None
        #: Worker-thread runs in flight, and finished so far.
        self.threads = 0
        self.threads_done = 0

    def open(self) -> None:
        """Make the thread limiter (on the loop that will use it)."""
        self._limiter = anyio.CapacityLimiter(self._max_threads or DEFAULT_THREADS)

    def ensure_open(self) -> None:
        """Make the thread limiter unless there is one."""
        if self._limiter is None:
            self.open()

    async def call_thread(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: Any
    ) -> Any:
        """Run ``func(*args, **kwargs)`` on a worker thread; a cancel abandons the thread."""
        self.ensure_open()
        call = (
            functools.partial(func, *args, **kwargs) if kwargs else functools.partial(func, *args)
        )
        self.threads += 1
        try:
            return await anyio.to_thread.run_sync(
                call, limiter=self._limiter, abandon_on_cancel=True
            )
        finally:
            self.threads -= 1
            self.threads_done += 1

    async def call_process(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: Any
    ) -> Any:
        """Run ``func(*args, **kwargs)`` on the process pool (started on first use)."""
        pool = self._pool
        if pool is None:
            pool = self._pool = ProcessPool(self._max_processes)
        return await pool.run(func, args, kwargs or {})

    async def aclose(self) -> None:
        """Stop the worker processes (threads cannot be stopped: they end on their own)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.aclose()
