"""Where a sync callable runs: worker threads (a thread pool of ``max_threads``) and worker
processes.

:class:`Executors` belongs to one scheduler. It counts the worker-thread runs in flight (a
public figure in :meth:`Scheduler.statistics <aioscheduler.Scheduler.statistics>`), starts the
process pool on first use and closes it at stop.

Worker-thread runs go to a :class:`~concurrent.futures.ThreadPoolExecutor` through
``loop.run_in_executor``, as :func:`asyncio.to_thread` does (the context is copied, so
``current_run()`` works in the thread). ``anyio.to_thread.run_sync`` (used before issue 11) costs
two checkpoints, a limiter and a cancel scope per call: a burst of thread jobs ran at 1/5 of
``asyncio.to_thread``'s rate. The pool itself bounds the threads to ``max_threads``; work beyond
it waits in the pool's queue. A cancelled run (a timeout, ``stop()``) is abandoned: a queued one
never starts, a running one finishes on its own.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._process import ProcessPool

__all__ = ("DEFAULT_THREADS", "Executors")

#: Worker threads when ``max_threads`` is not given (anyio's default).
DEFAULT_THREADS = 40


class Executors:
    """The worker threads and processes of one scheduler."""

    __slots__ = ("_max_processes", "_max_threads", "_pool", "_workers", "threads", "threads_done")

    def __init__(self, max_threads: int | None, max_processes: int | None) -> None:
        self._max_threads = max_threads
        self._max_processes = max_processes
        self._workers: ThreadPoolExecutor | None = None
        self._pool: ProcessPool | None = None
        #: Worker-thread runs in flight, and finished so far.
        self.threads = 0
        self.threads_done = 0

    def open(self) -> None:
        """Make the worker thread pool (its threads start on use)."""
        old, self._workers = (
            self._workers,
            ThreadPoolExecutor(
                self._max_threads or DEFAULT_THREADS, thread_name_prefix="aioscheduler-worker"
            ),
        )
        if old is not None:
            old.shutdown(wait=False)

    def ensure_open(self) -> None:
        """Make the worker thread pool unless there is one."""
        if self._workers is None:
            self.open()

    async def call_thread(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: Any
    ) -> Any:
        """Run ``func(*args, **kwargs)`` on a worker thread; a cancel abandons the thread."""
        workers = self._workers
        if workers is None:
            self.open()
            workers = self._workers
        run = contextvars.copy_context().run  # current_run() works in the thread
        call = (
            functools.partial(run, func, *args, **kwargs)
            if kwargs
            else functools.partial(run, func, *args)
        )
        self.threads += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(workers, call)
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
        """Stop the worker processes; let the worker threads end (a running one finishes on
        its own: threads cannot be stopped)."""
        workers, self._workers = self._workers, None
        if workers is not None:
            workers.shutdown(wait=False)
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.aclose()
