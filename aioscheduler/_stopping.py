"""Bounded stopping: ``stop(timeout)`` returns within the timeout plus a small grace, whatever
the callbacks do.

A run is waited for up to the timeout, then cancelled. A run that swallows the cancellation
(or cleans up for too long) gets :data:`CANCEL_GRACE` seconds to end; after that it is
*abandoned*: reported (a WARNING naming it, its run recorded ``cancelled`` with the reason
``"abandoned at stop"``, and the ``SchedulerStopped.abandoned`` list), while its task keeps a
strong reference here until it ends, so that Python never reports it as "Task was destroyed
but it is pending". What comes after the runs (recording finished runs in the store,
delivering buffered events) is bounded by :data:`STOP_GRACE` when ``stop()`` has a timeout
(without one, finished runs are recorded however long that takes).
"""

from __future__ import annotations

import asyncio
import asyncio.runners
import contextlib
import functools
import logging
import signal
import threading
from collections.abc import Awaitable, Collection, Iterator
from typing import Any

__all__ = (
    "CANCEL_GRACE",
    "STOP_GRACE",
    "Abandoned",
    "finish_tasks",
    "interrupts_between_callbacks",
    "retrieve",
    "within",
)

logger = logging.getLogger("aioscheduler")

#: Seconds a cancelled task has to end before it is abandoned.
CANCEL_GRACE = 0.5
#: Seconds ``stop()`` gives everything after the runs (records, events) before giving up on it.
STOP_GRACE = 1.0


class Abandoned:
    """Tasks given up on at stop: kept alive (strongly referenced) until they end."""

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def keep(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:  # retrieve: no loop warning
            logger.debug("an abandoned task ended with an error", exc_info=task.exception())


def retrieve(tasks: Collection[asyncio.Task[Any]]) -> None:
    """Mark the exceptions of finished ``tasks`` as seen (a task ended by Ctrl-C holds a
    ``KeyboardInterrupt`` that nobody awaits: asyncio would log "Task exception was never
    retrieved" when it is collected)."""
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()


async def finish_tasks(
    tasks: Collection[asyncio.Task[Any]],
    deadline: float | None,
    keeper: Abandoned,
) -> list[asyncio.Task[Any]]:
    """Wait for ``tasks`` until ``deadline`` (loop time; ``None``: as long as they take), cancel
    what is left, give it :data:`CANCEL_GRACE` to end, and hand what still runs to ``keeper``.

    Returns the abandoned tasks.
    """
    pending = {t for t in tasks if not t.done()}
    try:
        if not pending:
            return []
        loop = asyncio.get_running_loop()
        if deadline is None:
            await asyncio.wait(pending)
            return []
        remaining = deadline - loop.time()
        if remaining > 0:
            _, pending = await asyncio.wait(pending, timeout=remaining)
        if not pending:
            return []
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=CANCEL_GRACE)
        for task in pending:
            keeper.keep(task)
        return list(pending)
    finally:
        retrieve(tasks)


async def within(deadline: float | None, awaitable: Awaitable[Any]) -> bool:
    """Await ``awaitable`` in the current task, cancelled at ``deadline`` (loop time; ``None``:
    no limit). Returns whether it finished in time. Starts no task."""
    if deadline is None:
        await awaitable
        return True
    try:
        async with asyncio.timeout_at(deadline):
            await awaitable
    except TimeoutError:
        return False
    return True


def _raise_interrupt() -> None:
    raise KeyboardInterrupt


def _raises_anywhere(handler: object) -> bool:
    """Whether ``handler`` is Python's or ``asyncio.run()``'s SIGINT handler: both raise
    ``KeyboardInterrupt`` in whatever code the main thread is running."""
    if handler is signal.default_int_handler:
        return True
    method = getattr(handler, "func", None) if isinstance(handler, functools.partial) else None
    return getattr(method, "__func__", None) is getattr(asyncio.runners.Runner, "_on_sigint", 0)


@contextlib.contextmanager
def interrupts_between_callbacks(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """While ``stop()`` runs, a Ctrl-C raises ``KeyboardInterrupt`` from a loop callback, between
    two steps of the loop, instead of wherever the main thread happens to be.

    Under ``asyncio.run()``, a second Ctrl-C raises ``KeyboardInterrupt`` at any bytecode,
    including inside asyncio's own bookkeeping: cut inside ``Future.cancel()``, the wake-up of
    the task awaiting that future is lost, the task can never end, and ``asyncio.run()`` waits
    for it for ever at exit (seen in about 1 run in 300 of tests/faults/test_stop_bounds.py).
    Only when the SIGINT handler is Python's or ``asyncio.run()``'s, on the main thread: a
    server's own handlers (uvicorn) are left alone. The previous handler is restored after.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not _raises_anywhere(previous):
        yield
        return
    try:
        loop.add_signal_handler(signal.SIGINT, _raise_interrupt)
    except (NotImplementedError, RuntimeError, ValueError):  # no signals on this loop
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(signal.SIGINT)
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGINT, previous)
