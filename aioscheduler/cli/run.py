"""``aioscheduler run module:attr``: serve a scheduler until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import Any

from .._values import Outcome
from ..errors import SchedulerError
from ..events import RunEvent, RunFinished
from ._target import UsageError, load_scheduler

__all__ = ("log_run", "serve")

logger = logging.getLogger("aioscheduler.cli")

_SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: Seconds after a termination signal during which another one is the same request: GNU
#: ``timeout``, process managers and terminals often signal both the process and its group,
#: so one request may arrive twice within milliseconds. Only a later, separate one forces.
SAME_REQUEST_WINDOW = 1.0


#: Outcomes the library logs itself (aioscheduler._logs): logged once, by the library.
_LOGGED_BY_THE_LIBRARY = frozenset(
    {Outcome.ERROR, Outcome.TIMEOUT, Outcome.MISSED, Outcome.SKIPPED}
)


def log_run(event: RunEvent) -> None:
    """Log one firing on one line at INFO: when, how late, how long. Failed, timed-out,
    skipped and missed firings are left to the library's own log line (said once)."""
    run = event.run
    if run.outcome in _LOGGED_BY_THE_LIBRARY:
        return
    if run.job_id is not None:
        name = f"job {run.job_id!r}"
    else:
        callback = getattr(run.timer, "callback", None)
        name = f"timer {getattr(callback, '__qualname__', callback)!r}"
    parts = [f"{name} {run.outcome}", f"scheduled {run.scheduled_at:%Y-%m-%d %H:%M:%S.%f}"[:-3]]
    if run.lateness is not None:
        parts.append(f"late {run.lateness.total_seconds() * 1000:.1f} ms")
    if run.duration is not None:
        parts.append(f"took {run.duration.total_seconds() * 1000:.1f} ms")
    if run.reason:
        parts.append(run.reason)
    if run.missed:
        parts.append(f"missed {run.missed}")
    logger.info("%s", ", ".join(parts))


def _install(handler: Callable[[signal.Signals], None]) -> Callable[[], None]:
    """Route SIGINT/SIGTERM to ``handler`` on the loop; return a function that undoes it."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in _SIGNALS:
        try:
            loop.add_signal_handler(sig, handler, sig)
            installed.append(sig)
        except NotImplementedError:  # Windows: no loop signal handlers
            signal.signal(sig, lambda n, _f: loop.call_soon_threadsafe(handler, signal.Signals(n)))

    def undo() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return undo


async def serve(target: str, grace: float | None, loop_name: str, *, factory: bool = False) -> int:
    """Load and serve the scheduler; return the exit status (0 clean stop, 1 forced stop).

    The first SIGINT/SIGTERM stops it gracefully (``stop(timeout=grace)``); a second one
    cancels everything still running at once.
    """
    scheduler = await load_scheduler(target, factory=factory)
    main = asyncio.current_task()
    assert main is not None
    requested = asyncio.Event()
    received: list[signal.Signals] = []
    loop = asyncio.get_running_loop()
    first_at: list[float] = []

    def on_signal(sig: signal.Signals) -> None:
        now = loop.time()
        if first_at and len(received) == 1 and now - first_at[0] < SAME_REQUEST_WINDOW:
            logger.info(
                "%s received again within %g s: taken as the same stop request",
                sig.name,
                SAME_REQUEST_WINDOW,
            )
            return
        first_at.append(now)
        received.append(sig)
        if len(received) == 1:
            wait = "as long as it takes" if grace is None else f"up to {grace:g} s"
            logger.info(
                "%s received: stopping, waiting %s for running work "
                "(send it again to cancel at once)",
                sig.name,
                wait,
            )
            requested.set()
        elif len(received) == 2:
            logger.warning("%s received again: cancelling running work", sig.name)
            main.cancel()

    undo = _install(on_signal)
    subscription = scheduler.subscribe(log_run, RunFinished)
    try:
        try:
            await scheduler.start()
        except SchedulerError as exc:  # a store that cannot open, a declared job refused...
            raise UsageError(f"cannot start {target}: {exc}", exit_code=1) from None
        count = len(await scheduler.jobs(history=False))
        logger.info(
            "serving %s: %d job%s on the %s loop; press Ctrl-C to stop",
            target,
            count,
            "" if count == 1 else "s",
            loop_name,
        )
        await _serve_until_stopped(scheduler, requested, grace)
    except asyncio.CancelledError:
        if len(received) < 2:
            raise
        main.uncancel()
        await _cancel_everything_else(main)
        logger.warning("stopped by force: running work was cancelled")
        return 1
    finally:
        undo()
        subscription.cancel()
    logger.info("stopped cleanly")
    return 0


async def _serve_until_stopped(
    scheduler: Any, requested: asyncio.Event, grace: float | None
) -> None:
    serving = asyncio.ensure_future(scheduler.serve())  # returns once the scheduler stopped
    waiting = asyncio.ensure_future(requested.wait())
    try:
        await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if requested.is_set():
            await scheduler.stop(timeout=grace)
        await serving
    finally:
        waiting.cancel()
        if not serving.done():
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving


async def _cancel_everything_else(main: asyncio.Task[Any]) -> None:
    others = [t for t in asyncio.all_tasks() if t is not main and not t.done()]
    for task in others:
        task.cancel()
    if others:
        await asyncio.wait(others, timeout=5)
