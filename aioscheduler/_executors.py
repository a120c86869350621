"""Where a sync callable runs: worker threads (a thread pool of ``max_threads``) and worker
processes.

:class:`Executors` belongs to one scheduler. It counts the worker-thread runs in flight (a
public figure in :meth:`Scheduler.statistics <aioscheduler.Scheduler.statistics>`), starts the
process pool on first use and closes it at stop.

Worker-thread runs go to a :class:`~concurrent.futures.ThreadPoolExecutor` (the context is
copied, as :func:`asyncio.to_thread` does, so ``current_run()`` works in the thread).
``anyio.to_thread.run_sync`` (used before issue 11) costs two checkpoints, a limiter and a cancel
scope per call: a burst of thread jobs ran at 1/5 of ``asyncio.to_thread``'s rate. The pool
itself bounds the threads to ``max_threads``; work beyond it waits in the pool's queue. A
cancelled run (a timeout, ``stop()``) is abandoned: a queued one never starts, a running one
finishes on its own.

Finished thread runs come back to the loop in batches (:class:`_Completions`): a worker appends
its outcome to a list and wakes the loop (``call_soon_threadsafe``, a write to the loop's
self-pipe) only when no wake-up is pending, instead of once per run as ``run_in_executor``
does. In a burst, the loop thread otherwise fights every worker for the GIL on each completion
(issue 11, devnotes/2026-11-27-s3/issue-11-perfload.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import CoroutineType
from typing import Any

from ._process import ProcessPool

__all__ = ("DEFAULT_THREADS", "Executors")

#: Worker threads when ``max_threads`` is not given (anyio's default).
DEFAULT_THREADS = 40


class _Completions:
    """Outcomes of worker-thread runs on their way back to one loop, delivered in batches."""

    __slots__ = ("_done", "_lock", "_pending", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._done: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        self._pending = False  # a _deliver() is scheduled on the loop

    def work(self, fut: asyncio.Future[Any], call: Callable[[], Any]) -> None:
        """Run ``call`` (on a worker thread) and hand its outcome to ``fut``'s loop."""
        if fut.cancelled():  # abandoned while queued: never start it
            return
        try:
            item: tuple[asyncio.Future[Any], Any, BaseException | None] = (fut, call(), None)
        except BaseException as exc:  # handed to the awaiting run, as run_in_executor does
            item = (fut, None, exc)
        with self._lock:
            self._done.append(item)
            if self._pending:
                return
            self._pending = True
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody awaits the run
            self.loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        with self._lock:
            done, self._done = self._done, []
            self._pending = False
        for fut, result, error in done:
            if fut.done():  # cancelled meanwhile (a timeout, stop())
                continue
            if error is None:
                fut.set_result(result)
            else:
                fut.set_exception(error)


class Executors:
    """The worker threads and processes of one scheduler."""

    __slots__ = (
        "_completions",
        "_max_processes",
        "_max_threads",
        "_pool",
        "_workers",
        "threads",
        "threads_done",
    )

    def __init__(self, max_threads: int | None, max_processes: int | None) -> None:
        self._max_threads = max_threads
        self._max_processes = max_processes
        self._workers: ThreadPoolExecutor | None = None
        self._pool: ProcessPool | None = None
        self._completions: _Completions | None = None
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

    async def call(
        self, func: Callable[..., Any], executor: str, args: tuple[Any, ...], kwargs: Any
    ) -> Any:
        """Call ``func(*args, **kwargs)`` with ``executor`` (``async``: awaited on the loop if
        it returns an awaitable; ``inline``: called on the loop; ``process``; else a thread)."""
        if executor == "async":
            result = func(*args, **kwargs) if kwargs else func(*args)
            if result.__class__ is CoroutineType or inspect.isawaitable(result):
                return await result
            return result
        if executor == "inline":
            return func(*args, **kwargs) if kwargs else func(*args)
        if executor == "process":
            return await self.call_process(func, args, kwargs)
        return await self.call_thread(func, args, kwargs)

    async def call_thread(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: Any
    ) -> Any:
        """Run ``func(*args, **kwargs)`` on a worker thread; a cancel abandons the thread."""
        workers = self._workers
        if workers is None:
            self.open()
            workers = self._workers
            assert workers is not None
        run = contextvars.copy_context().run  # current_run() works in the thread
        call = (
            functools.partial(run, func, *args, **kwargs)
            if kwargs
            else functools.partial(run, func, *args)
        )
        loop = asyncio.get_running_loop()
        completions = self._completions
        if completions is None or completions.loop is not loop:
            completions = self._completions = _Completions(loop)
        fut = loop.create_future()
        self.threads += 1
        try:
            workers.submit(completions.work, fut, call)
            return await fut
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
