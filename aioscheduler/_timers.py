"""Timers: callbacks that say when they want to run again by returning their next delay."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from ._clock import to_datetime
from .errors import InvalidDelay

__all__ = ("Timer", "TimerHost", "parse_delay")

logger = logging.getLogger("aioscheduler.timers")


def parse_delay(value: object, what: str = "delay") -> float | None:
    """Normalise a delay (seconds or ``timedelta``) to float seconds; ``None``/0 -> ``None``.

    Raises :class:`~aioscheduler.errors.InvalidDelay` for negatives, NaN, infinities and
    anything that is not a number or a timedelta (``True`` included).
    """
    if value is None:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise InvalidDelay(
            f"{what} must be seconds (int/float) or a timedelta, got {value!r} "
            f"of type {type(value).__name__}"
        )
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidDelay(f"{what} must be a finite number of seconds >= 0, got {value!r}")
    return seconds or None


class TimerHost(Protocol):
    """Where a timer waits (the dispatcher's local heap): what :meth:`Timer.cancel` needs."""

    def cancel_timer(self, timer: Timer) -> None:
        """Take a cancelled timer off the heap and end it (from any thread)."""


class Timer:
    """Handle of a timer made by :meth:`Scheduler.call_later` or :meth:`Scheduler.call_at`.

    The callback (sync or async) runs at :attr:`when`; it returns its next delay in seconds
    (or a ``timedelta``), counted from the moment it returned, to run again, or ``None``/``0``
    to end the timer. A negative or invalid delay, or an exception, ends the timer; both are
    logged and reported as a run with outcome ``error``.
    """

    __slots__ = (
        "__weakref__",
        "_args",
        "_callback",
        "_done_callbacks",
        "_due",
        "_ended",
        "_executor",
        "_host",
        "_running",
        "cancelled",
        "heap_seq",
    )

    def __init__(
        self,
        host: TimerHost,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
        due: float,
        executor: str,
    ) -> None:
        self.heap_seq = -1  # the due heap's bookkeeping (see _heap.py)
        self._host = host
        self._callback = callback
        self._args = args
        self._due: float | None = due
        self._executor = executor
        self._running = False
        self._ended = False
        self._done_callbacks: list[Callable[[Timer], object]] | None = None
        #: True once :meth:`cancel` was called.
        self.cancelled = False

    @property
    def callback(self) -> Callable[..., Any]:
        """The timer's callback."""
        return self._callback

    @property
    def when(self) -> datetime | None:
        """The next due time (aware UTC); ``None`` once the timer has ended."""
        due = self._due
        return None if due is None or self._ended else to_datetime(due)

    @property
    def done(self) -> bool:
        """True once the timer has ended (returned ``None``/``0``, was cancelled, failed, or
        the scheduler stopped) and will not run again."""
        return self._ended

    def cancel(self) -> bool:
        """Cancel the timer: it will not run again. Safe from any thread and from inside its
        own callback (a running callback is not interrupted; it just is not rescheduled).

        Returns ``False`` if the timer had already ended.
        """
        if self._ended or self.cancelled:
            return False
        self.cancelled = True
        self._host.cancel_timer(self)
        return True

    def add_done_callback(self, fn: Callable[[Timer], object]) -> None:
        """Call ``fn(timer)`` once, when the timer ends for any reason.

        If the timer has already ended, ``fn`` is called at once. An exception in ``fn`` is
        logged and ignored.
        """
        if self._ended:
            self._call_done(fn)
            return
        if self._done_callbacks is None:
            self._done_callbacks = []
        self._done_callbacks.append(fn)

    # -- the engine's side (dispatcher and runner) ---------------------------------------------

    @property
    def executor(self) -> str:
        """How the callback runs: ``"async"``, ``"thread"`` or ``"inline"``."""
        return self._executor

    @property
    def args(self) -> tuple[Any, ...]:
        """The callback's positional arguments."""
        return self._args

    @property
    def running(self) -> bool:
        """Whether its callback runs now."""
        return self._running

    def begin_run(self) -> None:
        """Its callback starts (a cancel now only stops the rescheduling)."""
        self._running = True

    def end_run(self) -> None:
        """Its callback returned, failed or was cancelled."""
        self._running = False

    def set_due(self, due: float) -> None:
        """It runs again at ``due`` (wall-clock timestamp)."""
        self._due = due

    def end(self) -> None:
        """End the timer (it will not run again) and call its done callbacks, once."""
        self._running = False
        if self._ended:
            return
        self._ended = True
        self._due = None
        callbacks, self._done_callbacks = self._done_callbacks, None
        for fn in callbacks or ():
            self._call_done(fn)

    def _call_done(self, fn: Callable[[Timer], object]) -> None:
        try:
            fn(self)
        except Exception:
            logger.exception("done callback %r of %r failed", fn, self)

    def __repr__(self) -> str:
        state = "ended" if self._ended else "running" if self._running else "pending"
        name = getattr(self._callback, "__qualname__", repr(self._callback))
        return f"<Timer {name} {state} when={self.when}>"
