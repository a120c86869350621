"""The loop-lag watchdog: notice when something blocks the event loop, and name it.

A job that calls ``time.sleep(2)`` (or any blocking I/O, or a long computation) inside a
coroutine blocks the whole loop: every other job and timer is late by as much, silently. The
watchdog has two halves:

- on the loop, a heartbeat callback every ``threshold / 10`` seconds notes the time and
  measures its own lateness. When it comes more than ``threshold`` late, the loop was stalled:
  a WARNING is logged, naming what was running, and a ``LoopStalled`` event is emitted (which
  the Prometheus integration counts).
- on a daemon thread, a sampler wakes every ``threshold / 10`` seconds. While the heartbeat is
  overdue it looks at the loop thread *during* the stall: the task running on the loop (a
  job's run, a timer, a subscriber...) and the innermost frame of the code that blocks. It
  also logs a WARNING itself when a stall goes on for ``10 * threshold``, so that a loop that
  never recovers is reported too.

Only the host's monotonic clock is used: under a ``FakeClock`` a real stall is still real.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ._clock import real_monotonic
from .events import Event, LoopStalled

if TYPE_CHECKING:
    from ._firing import Firing

__all__ = ("DEFAULT_THRESHOLD", "Culprit", "LoopWatchdog", "check_threshold", "describe_task")

logger = logging.getLogger("aioscheduler.watchdog")

#: Default ``Scheduler(loop_lag_threshold=...)``, in seconds.
DEFAULT_THRESHOLD = 0.5
#: The sampler thread also warns when a stall lasts this many thresholds (a loop that is stuck).
STUCK_FACTOR = 10


@dataclass(frozen=True, slots=True)
class Culprit:
    """What was running on the loop thread during a stall."""

    job_id: str | None
    """The job whose run was running, if it was a job's run."""
    what: str
    """``job 'id'``, ``timer <...>``, ``task 'name' (coroutine)``, or ``no task``."""
    where: str | None
    """``file:line in function`` of the innermost frame of the loop thread."""

    def describe(self) -> str:
        return self.what if self.where is None else f"{self.what} at {self.where}"


def check_threshold(value: object) -> float | None:
    """Validate ``loop_lag_threshold`` (``None`` or seconds > 0); return it as a float."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"loop_lag_threshold must be seconds > 0 or None, got {value!r}")
    if value == float("inf"):
        raise ValueError(f"loop_lag_threshold must be finite, got {value!r}")
    return float(value)


def describe_task(
    runs: Mapping[asyncio.Task[None], Firing], task: asyncio.Task[Any] | None
) -> tuple[str | None, str]:
    """``(job id or None, description)`` of the task running on the loop (``runs``: the
    runner's running firings by task)."""
    if task is None:
        return None, "no task (a loop callback, or code outside any task)"
    firing = runs.get(task)
    if firing is not None:
        if firing.timer is not None:
            return None, f"timer {firing.timer!r}"
        return firing.job_id, f"job {firing.job_id!r}"
    coro = task.get_coro()
    return None, f"task {task.get_name()!r} ({getattr(coro, '__qualname__', coro)!r})"


def _innermost(thread_id: int) -> str | None:
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return None
    code = frame.f_code
    return f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"


class LoopWatchdog:
    """Watches one event loop (see the module docstring). Start on the loop thread."""

    def __init__(
        self,
        threshold: float,
        runs: Mapping[asyncio.Task[None], Firing],
        emit: Callable[[Event], None],
        now: Callable[[], datetime],
    ) -> None:
        self.threshold = threshold
        self.period = threshold / 10
        self._runs = runs
        self._emit = emit
        self._now = now
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._handle: asyncio.TimerHandle | None = None
        self._beat = 0.0  # real monotonic time of the last heartbeat
        self._due = 0.0  # when the next heartbeat should come
        self._culprit: Culprit | None = None  # sampled during the current stall
        self._warned = False  # the sampler already warned about the current stall
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stalls = 0

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._stop.clear()
        self._schedule(real_monotonic())
        self._thread = threading.Thread(
            target=self._sample_forever, name="aioscheduler-watchdog", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop both halves (returns at once; the thread exits within one period)."""
        self._stop.set()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._thread = None

    # -- on the loop -----------------------------------------------------------------------

    def _schedule(self, now: float) -> None:
        self._beat = now
        self._due = now + self.period
        assert self._loop is not None
        self._handle = self._loop.call_later(self.period, self._heartbeat)

    def _heartbeat(self) -> None:
        now = real_monotonic()
        lag = now - self._due
        culprit, self._culprit, self._warned = self._culprit, None, False
        self._schedule(now)
        if lag > self.threshold:
            self.stalls += 1
            try:
                self._report(lag, culprit)
            except Exception:  # pragma: no cover - reporting must never stop the heartbeat
                logger.exception("reporting a loop stall failed")

    def _report(self, seconds: float, culprit: Culprit | None) -> None:
        running = "unknown (not sampled)" if culprit is None else culprit.describe()
        job_id = None if culprit is None else culprit.job_id
        logger.warning(
            "the event loop was blocked for %.2f s (loop_lag_threshold=%g s); running: %s",
            seconds,
            self.threshold,
            running,
            extra={"job_id": job_id, "stall": seconds},
        )
        self._emit(
            LoopStalled(
                at=self._now(),
                duration=timedelta(seconds=seconds),
                job_id=job_id,
                culprit=running,
            )
        )

    # -- on the sampler thread ---------------------------------------------------------------

    def _sample_forever(self) -> None:
        while not self._stop.wait(self.period):
            overdue = real_monotonic() - self._due
            if overdue <= self.threshold / 2:
                continue
            if self._culprit is None or overdue <= self.threshold:
                self._culprit = self._sample()
            if overdue > self.threshold * STUCK_FACTOR and not self._warned:
                self._warned = True
                culprit = self._culprit
                logger.warning(
                    "the event loop has been blocked for %.1f s and still is; running: %s",
                    overdue,
                    "unknown" if culprit is None else culprit.describe(),
                    extra={"job_id": None if culprit is None else culprit.job_id},
                )

    def _sample(self) -> Culprit:
        loop = self._loop
        task = None
        if loop is not None:
            try:
                task = asyncio.current_task(loop)  # a dict read: fine from another thread
            except RuntimeError:  # pragma: no cover - the loop closed meanwhile
                task = None
        try:
            job_id, what = describe_task(self._runs, task)
        except Exception:  # pragma: no cover - the runner changed under us: name the task
            job_id, what = None, repr(task)
        return Culprit(job_id, what, _innermost(self._loop_thread))
